package jobsim

import "testing"

// StartTest starts a simulator for a test, on 127.0.0.1, and closes it when the test ends: real
// execution unless opts.Exec is set, and JOB's view permission enforced (only the user who launched a
// job may read it without view_history), so every test also checks that the step reads status and logs
// as the user it submitted with.
func StartTest(t testing.TB, opts Options) *Sim {
	t.Helper()
	if opts.Exec == nil {
		opts.Exec = RealExec{MaxConcurrency: 4}
	}
	opts.EnforceViewPermission = true
	sim, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}
