package production

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// bin holds the topology's binaries, built once for the package's tests.
var bin *Binaries

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	start := time.Now()
	var err error
	bin, err = Build(ctx, "")
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "building the production topology's binaries:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "production: binaries in %s, built or checked in %s\n", bin.Dir, time.Since(start).Round(time.Millisecond))
	os.Exit(m.Run())
}
