module jobfastexecutescript

go 1.26

require (
	github.com/avast/retry-go/v4 v4.7.0
	github.com/sethvargo/go-envconfig v1.4.3
	github.com/tidwall/gjson v1.20.2
)

require (
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.3.0 // indirect
)
