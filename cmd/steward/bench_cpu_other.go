//go:build !unix

package main

import "time"

// processCPU is unknown here: the benchmarks leave the CPU figures out.
func processCPU() time.Duration { return 0 }
