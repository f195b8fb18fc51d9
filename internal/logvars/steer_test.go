package logvars

import (
	"slices"
	"testing"
)

// TestSteersEnvironment (issue 12, item 4): names that change how later steps' programs start or
// resolve are recognised exactly and case-sensitively, the proxies and npm's config in either case;
// on a Windows agent every name in any case.
func TestSteersEnvironment(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES", "BASH_ENV", "ENV",
		"PYTHONPATH", "NODE_OPTIONS", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "GIT_SSH_COMMAND", "GIT_CONFIG_COUNT",
		"http_proxy", "HTTPS_PROXY", "All_Proxy", "no_proxy", "NPM_CONFIG_REGISTRY", "npm_config_script_shell",
		"SSL_CERT_FILE", "GCONV_PATH", "HOME", "IFS", "PS4", "KUBECONFIG", "GOFLAGS"} {
		if !steers(n, false) {
			t.Errorf("%s is not refused", n)
		}
	}
	for _, n := range []string{"path", "Path", "ld_preload", "VERSION", "ver", "PATHNAME", "MY_PATH", "HOMEDIR",
		"ENVIRONMENT", "GITHUB_SHA", "LD", "proxy", "JAVA_OPTS_X"} {
		if steers(n, false) {
			t.Errorf("%s is refused on a POSIX agent", n)
		}
	}
	for _, n := range []string{"Path", "path", "ld_preload", "PsModulePath", "java_tool_options"} {
		if !steers(n, true) {
			t.Errorf("%s is not refused on a Windows agent", n)
		}
	}
}

// TestCollector_RefusesSteeringNames: such a name is skipped (one Skip naming every target that set
// it) unless allowed; allowed names become outputs; every target's values stay in PerTarget.
func TestCollector_RefusesSteeringNames(t *testing.T) {
	t.Parallel()
	c := NewCollector(nil)
	c.Allowed = map[string]bool{"NODE_PATH": true}
	c.Add("a", "::set-output name=PATH::/tmp/evil\n::set-output name=NODE_PATH::/opt/n\n::set-output name=ver::1\n")
	c.Add("b", "::set-output name=PATH::/tmp/evil2\n::set-output name=https_proxy::http://x\n")
	r := c.Result()
	if _, ok := r.Values["PATH"]; ok {
		t.Error("PATH became an output")
	}
	if r.Values["NODE_PATH"] != "/opt/n" || r.Values["ver"] != "1" {
		t.Errorf("values %v", r.Values)
	}
	var got []Skip
	for _, s := range r.Skipped {
		if s.Reason == ReasonSteersEnv {
			got = append(got, s)
		}
	}
	if len(got) != 2 || got[0].Name != "PATH" || !slices.Equal(got[0].Labels, []string{"a", "b"}) || got[1].Name != "https_proxy" {
		t.Errorf("skipped %+v", got)
	}
	if r.PerTarget["b"]["PATH"] != "/tmp/evil2" {
		t.Errorf("per-target values lost: %v", r.PerTarget)
	}
	if len(r.Conflicts) != 0 {
		t.Errorf("a refused name counted as a conflict: %+v", r.Conflicts)
	}
}
