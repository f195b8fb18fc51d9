package plugin

import "testing"

// TestStrictScript: strict mode's line goes after the shebang for the interpreter it names (bash when
// there is none, as JOB runs it), after a PowerShell param block, and nowhere for other languages.
func TestStrictScript(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		lang   int
		in     string
		want   string
		wantOK bool
	}{
		{"no shebang is bash", 1, "false\necho x\n", "set -euo pipefail\nfalse\necho x\n", true},
		{"bash", 1, "#!/bin/bash\necho x\n", "#!/bin/bash\nset -euo pipefail\necho x\n", true},
		{"env bash", 1, "#!/usr/bin/env bash\necho x", "#!/usr/bin/env bash\nset -euo pipefail\necho x", true},
		{"bash with flag", 1, "#!/bin/bash -x\necho x\n", "#!/bin/bash -x\nset -euo pipefail\necho x\n", true},
		{"sh", 1, "#!/bin/sh\necho x\n", "#!/bin/sh\nset -eu\necho x\n", true},
		{"dash", 1, "#!/usr/bin/dash\necho x\n", "#!/usr/bin/dash\nset -eu\necho x\n", true},
		{"shebang only", 1, "#!/bin/sh", "#!/bin/sh\nset -eu\n", true},
		{"crlf", 1, "#!/bin/bash\r\necho x\r\n", "#!/bin/bash\r\nset -euo pipefail\r\necho x\r\n", true},
		{"bom", 1, "\ufeffecho x\n", "\ufeffset -euo pipefail\necho x\n", true},
		{"zsh unchanged", 1, "#!/bin/zsh\necho x\n", "#!/bin/zsh\necho x\n", false},
		{"powershell", 5, "Write-Output hi\n", "$ErrorActionPreference = 'Stop'\nWrite-Output hi\n", true},
		{"powershell param", 5, "# c\n[CmdletBinding()]\nparam(\n  [string]$A = ')',\n  [int]$B # )\n)\nWrite-Output $A\n",
			"# c\n[CmdletBinding()]\nparam(\n  [string]$A = ')',\n  [int]$B # )\n)\n$ErrorActionPreference = 'Stop'\nWrite-Output $A\n", true},
		{"powershell help then param", 5, "<# .SYNOPSIS x #>\nParam ($x)\n$x\n",
			"<# .SYNOPSIS x #>\nParam ($x)\n$ErrorActionPreference = 'Stop'\n$x\n", true},
		{"bat", 2, "echo x\n", "echo x\n", false},
		{"perl", 3, "print 1;\n", "print 1;\n", false},
		{"python", 4, "print(1)\n", "print(1)\n", false},
	}
	for _, tc := range cases {
		got, ok := strictScript(tc.lang, tc.in)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("%s: got %q %v, want %q %v", tc.name, got, ok, tc.want, tc.wantOK)
		}
	}
}

// TestParse_StrictMode: on by default for inline scripts, off when unticked, never for a JOB script.
func TestParse_StrictMode(t *testing.T) {
	t.Parallel()
	if c := mustParse(t, base("scriptContent", "false\necho x")); c.ScriptContent != "set -euo pipefail\nfalse\necho x" || !c.StrictApplied {
		t.Errorf("default: %q", c.ScriptContent)
	}
	if c := mustParse(t, base("scriptContent", "false\necho x", "strictMode", "false")); c.ScriptContent != "false\necho x" {
		t.Errorf("off: %q", c.ScriptContent)
	}
	if c := mustParse(t, base("scriptSource", "scriptId", "scriptId", "abc")); c.ScriptContent != "" || c.StrictApplied {
		t.Errorf("script id: %q", c.ScriptContent)
	}
}
