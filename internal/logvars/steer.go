package logvars

import (
	"runtime"
	"strings"
)

// ReasonSteersEnv means the name would change how later steps' programs start or resolve (see
// SteersEnvironment), and the step's allowedVariables input does not list it.
const ReasonSteersEnv = "steers_env"

// BK-CI exports a step's outputs into the environment of later steps on the same build agent. A
// target that prints "::set-output name=PATH::/tmp/x" would, as an output named PATH, decide which
// programs every later step runs; LD_PRELOAD would load its library into them. The names below are
// refused as outputs unless the user lists them in allowedVariables. The list is about effect, not
// completeness: every name that makes a program run other code, load other code, trust other
// certificates or talk through another host. Matching is exact and case-sensitive (POSIX environment
// names), except the proxy variables and npm's config, which tools read in either case; on a Windows
// agent, whose environment ignores case, every comparison ignores case.

// steeringNames are refused by exact name.
var steeringNames = map[string]bool{
	// Where programs and libraries are looked up.
	"PATH":         true, // every command a later step runs
	"PATHEXT":      true, // Windows: which extensions are commands
	"CDPATH":       true, // where "cd" goes in later shells
	"PYTHONPATH":   true, // Python imports
	"PYTHONHOME":   true, // Python's standard library
	"PERL5LIB":     true, // Perl modules
	"PERLLIB":      true,
	"RUBYLIB":      true, // Ruby libraries
	"GEM_HOME":     true, // Ruby gems
	"GEM_PATH":     true,
	"NODE_PATH":    true, // Node.js modules
	"CLASSPATH":    true, // Java classes
	"JAVA_HOME":    true, // the java that build tools start
	"GOPATH":       true, // Go: module cache and installed tools
	"GOROOT":       true, // Go: the toolchain itself
	"GOFLAGS":      true, // Go: flags such as -toolexec, which runs a program
	"GOTOOLCHAIN":  true, // Go: downloads and runs another toolchain
	"GOPROXY":      true, // Go: where modules come from
	"GOSUMDB":      true, // Go: module checksum verification
	"GONOSUMDB":    true,
	"GONOSUMCHECK": true,
	"GOINSECURE":   true,
	"GOPRIVATE":    true,
	"GONOPROXY":    true,
	"CC":           true, // the C compiler make and cgo run (a command line)
	"CXX":          true,
	"PSModulePath": true, // PowerShell modules
	"COMSPEC":      true, // Windows: the command interpreter
	// Shell start-up: code a later shell runs before the step's script.
	"BASH_ENV":        true, // sourced by every non-interactive bash
	"ENV":             true, // sourced by sh / POSIX-mode shells
	"ZDOTDIR":         true, // zsh's start-up files
	"PROMPT_COMMAND":  true,
	"SHELLOPTS":       true, // e.g. xtrace: with PS4 below, runs commands
	"BASHOPTS":        true,
	"PS4":             true, // expanded (command substitution included) for every traced command
	"IFS":             true, // how every later script splits words
	"GLOBIGNORE":      true,
	"HOME":            true, // where every tool reads its dot files (.bashrc, .gitconfig, .npmrc, .ssh)
	"XDG_CONFIG_HOME": true, // git's and other tools' config
	// Interpreter and runtime hooks: code run at start.
	"PYTHONSTARTUP":     true,
	"PYTHONUSERBASE":    true,
	"PERL5OPT":          true, // e.g. -M loads a module
	"PERL5DB":           true,
	"RUBYOPT":           true,
	"NODE_OPTIONS":      true, // e.g. --require
	"JAVA_TOOL_OPTIONS": true, // e.g. -javaagent
	"_JAVA_OPTIONS":     true,
	"JDK_JAVA_OPTIONS":  true,
	"MAVEN_OPTS":        true,
	"GRADLE_OPTS":       true,
	"SSH_ASKPASS":       true, // a program run for a password
	"SUDO_ASKPASS":      true,
	// Whom a later step trusts or talks to.
	"SSL_CERT_FILE":                true,
	"SSL_CERT_DIR":                 true,
	"CURL_CA_BUNDLE":               true,
	"REQUESTS_CA_BUNDLE":           true,
	"NODE_EXTRA_CA_CERTS":          true,
	"NODE_TLS_REJECT_UNAUTHORIZED": true,
	"KUBECONFIG":                   true, // which cluster kubectl deploys to
	"DOCKER_HOST":                  true, // which daemon docker talks to
	"DOCKER_CONFIG":                true, // registry credentials and helpers
	// The C library: loaded modules and name resolution.
	"GCONV_PATH":       true, // character-set modules (shared libraries) glibc loads
	"LOCPATH":          true,
	"NLSPATH":          true,
	"HOSTALIASES":      true,
	"RESOLV_HOST_CONF": true,
	"LOCALDOMAIN":      true,
	"RES_OPTIONS":      true,
}

// steeringPrefixes are refused for every name they start with (case-sensitive).
var steeringPrefixes = []string{
	"LD_",   // the dynamic loader: LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, …
	"DYLD_", // macOS's loader: DYLD_INSERT_LIBRARIES, DYLD_LIBRARY_PATH, …
	"GIT_",  // GIT_SSH_COMMAND, GIT_EXEC_PATH, GIT_ASKPASS, GIT_CONFIG_COUNT/KEY_n/VALUE_n (any config, e.g. core.sshCommand), …
}

// foldedNames are refused whatever their case: tools read both spellings.
var foldedNames = map[string]bool{
	"http_proxy": true, "https_proxy": true, "ftp_proxy": true, "all_proxy": true, "no_proxy": true,
}

// foldedPrefixes are refused whatever their case.
var foldedPrefixes = []string{
	"npm_config_", // any npm setting: registry, script-shell, node-options, …
}

// SteersEnvironment reports whether a variable named name, exported into a later step's environment,
// would change how that step's programs start or resolve (the lists above). The agent's OS decides
// whether case counts (it does not on Windows).
func SteersEnvironment(name string) bool {
	return steers(name, runtime.GOOS == "windows")
}

func steers(name string, foldCase bool) bool {
	if foldCase {
		name = strings.ToUpper(name)
	}
	if steeringNames[name] {
		return true
	}
	for _, p := range steeringPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	lower := strings.ToLower(name)
	if foldedNames[lower] {
		return true
	}
	for _, p := range foldedPrefixes {
		if strings.HasPrefix(lower, p) {
			return true
		}
	}
	if foldCase {
		for n := range steeringNames {
			if strings.ToUpper(n) == name {
				return true
			}
		}
	}
	return false
}
