// Package wait holds the mechanics of waiting for a JOB job to finish: an
// adaptive poll schedule, a poll loop that a callback can wake early, and the
// HTTP listener that receives JOB's completion callback.
//
// The package knows nothing about JOB's client or the job's verdict: a poll
// is a caller-supplied function, and a callback only wakes the poll loop. The
// verdict always comes from a status request.
package wait
