package plugin

import "strings"

// paramSecrets returns what to mask of sensitive script parameters: the whole string, and each
// argument as the script receives it (the shell removes quotes and backslashes): every argument
// but an option name ("-k", "--password"), and the value of "--password=…" or "key:value". The
// redactor ignores what is shorter than 3 characters.
func paramSecrets(param string) []string {
	out := []string{param}
	for _, w := range shellWords(param) {
		if !strings.HasPrefix(w, "-") {
			out = append(out, w)
		}
		if i := strings.IndexAny(w, "=:"); i >= 0 {
			out = append(out, w[i+1:])
		}
	}
	return out
}

// shellWords splits s into words as a POSIX shell does for a command's arguments: blanks separate
// words; single quotes keep everything literally; double quotes keep everything but \" \\ \$ \`
// and a newline after a backslash; a backslash outside quotes keeps the next character. An
// unterminated quote runs to the end. Expansions ($VAR, globs) are left as written.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case '\'':
			inWord = true
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				end = len(s) - i - 1
			}
			w.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case '"':
			inWord = true
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					i++
				}
				w.WriteByte(s[i])
			}
		case '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				w.WriteByte(s[i])
			}
		default:
			inWord = true
			w.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}
