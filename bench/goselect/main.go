// goselect: Go's reference for select_ns, which ../shared/bench/gosched does
// not measure. It is Go's own BenchmarkSelectUncontended (runtime/chan_test.go)
// on one P: two channels of capacity 1, exactly one of which holds a value, so
// every select has one ready case; the winner refills the other channel.
// One warm-up run at n/10, then 3 runs of n; prints the median as one JSON line.
package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"time"
)

func selectUncontended(n int) float64 {
	c1, c2 := make(chan int, 1), make(chan int, 1)
	c1 <- 0
	t := time.Now()
	for i := 0; i < n; i++ {
		select {
		case <-c1:
			c2 <- 0
		case <-c2:
			c1 <- 0
		}
	}
	return float64(time.Since(t).Nanoseconds()) / float64(n)
}

func main() {
	runtime.GOMAXPROCS(1)
	const n = 2_000_000
	selectUncontended(n / 10)
	runs := []float64{selectUncontended(n), selectUncontended(n), selectUncontended(n)}
	s := append([]float64(nil), runs...)
	sort.Float64s(s)
	b, _ := json.Marshal(map[string]interface{}{"select_ns": s[1], "runs": runs})
	fmt.Println(string(b))
}
