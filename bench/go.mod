module github.com/spf-go/spf/bench

go 1.26.0

require (
	blitiri.com.ar/go/spf v1.6.0
	github.com/google/go-cmp v0.7.0
	github.com/spf-go/spf v0.0.0
)

require (
	github.com/miekg/dns v1.1.73 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)

replace github.com/spf-go/spf => ../
