package plugin

import "strconv"

// statusName is the localized name of a job ("job") or target ("target") status; unknown codes are named
// by number.
func (s *step) statusName(kind string, code int) string {
	key := "status." + kind + "." + strconv.Itoa(code)
	if name := s.t(key); name != key {
		return name
	}
	return s.t("status.unknown", code)
}
