// Package parallel runs independent calls side by side: DNS queries asked at once, images
// loaded onto every node at once, EndpointSlices written several at a time.
package parallel

import (
	"errors"
	"sync"
)

// Do calls f(0), ..., f(n-1) concurrently, at most limit at a time (limit <= 0: all at once),
// waits for every call, and returns their errors joined (nil when all succeeded).
func Do(n, limit int, f func(i int) error) error {
	if limit <= 0 || limit > n {
		limit = n
	}
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range limit {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}
