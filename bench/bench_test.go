package bench

import "testing"

// BenchmarkCheck times one whole check of each workload with each
// library. Sub-benchmarks are named work=<workload>/lib=<library>, so that
// "benchstat -col /lib" puts the libraries side by side.
func BenchmarkCheck(b *testing.B) {
	libs := libraries(b)
	for _, w := range Workloads {
		for _, lib := range libs {
			check := lib.prepare(w)
			b.Run("work="+w.Name+"/lib="+lib.name, func(b *testing.B) {
				if got, err := check(); got != w.Want {
					b.Fatalf("%s: result %s (%v), want %s", lib.name, got, err, w.Want)
				}
				b.ReportAllocs()
				for b.Loop() {
					check()
				}
			})
		}
	}
}
