module github.com/open-mx-go/open-mx-go

go 1.26.0

require (
	github.com/google/go-cmp v0.7.0
	github.com/mdlayher/packet v1.2.0
	golang.org/x/sys v0.49.0
	modernc.org/cc/v4 v4.31.0
)

require (
	github.com/mdlayher/socket v0.7.0 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	golang.org/x/net v0.59.0 // indirect
	golang.org/x/sync v0.23.0 // indirect
	modernc.org/mathutil v1.7.1 // indirect
	modernc.org/opt v0.2.0 // indirect
	modernc.org/sortutil v1.2.1 // indirect
	modernc.org/strutil v1.2.1 // indirect
	modernc.org/token v1.1.0 // indirect
)
