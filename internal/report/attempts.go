package report

// Attempt is one run of the job's failed targets: the first run, then each retry (retryFailed). The
// counts are as the attempt ended.
type Attempt struct {
	Number       int           `json:"number"` // 1 for the first run
	Total        int           `json:"total_count"`
	SuccessCount int           `json:"success_count"`
	FailedCount  int           `json:"failed_count"`
	NotStarted   int           `json:"not_started_count"`
	StatusCounts []StatusCount `json:"status_counts"`
}
