package callbackurl

import (
	"unicode"
	"unicode/utf8"
)

func decodeRune(s string) (rune, int) { return utf8.DecodeRuneInString(s) }

// isSpaceChar is Java's Character.isSpaceChar: the Unicode space separators (Zs, Zl, Zp).
func isSpaceChar(r rune) bool {
	return unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp)
}

// isISOControl is Java's Character.isISOControl.
func isISOControl(r rune) bool {
	return r <= 0x1f || (r >= 0x7f && r <= 0x9f)
}
