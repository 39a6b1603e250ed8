// Package proc holds what the benchmark drivers read about processes on
// Linux (/proc), the loopback ports they start servers on, and the
// `avis serve` they start.
package proc

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// FreePort returns a loopback address with a port free at the moment.
func FreePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// PeakRSS reads a process's peak resident set (VmHWM) in MB.
func PeakRSS(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return kb / 1024
		}
	}
	return 0
}

// stat returns the fields of /proc/<pid>/stat after the command name.
func stat(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	return strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
}

// CPU reads the CPU seconds (user and system) a process used so far.
func CPU(pid int) float64 {
	f := stat(pid)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // clock ticks (USER_HZ = 100 on Linux)
}

// SelfCPU is CPU of the calling process.
func SelfCPU() float64 { return CPU(os.Getpid()) }

// PostgresCPU returns the CPU seconds used so far by the PostgreSQL server
// whose data directory is dir: its postmaster and the backends it started
// (those of avis's pool live through the run). 0 when dir is empty.
func PostgresCPU(dir string) float64 {
	if dir == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	pm, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if pm == 0 {
		return 0
	}
	total := CPU(pm)
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if f := stat(pid); len(f) > 1 {
			if ppid, _ := strconv.Atoi(f[1]); ppid == pm {
				total += CPU(pid)
			}
		}
	}
	return total
}

// Avis is an `avis serve` process started by a benchmark driver.
type Avis struct {
	Cmd     *exec.Cmd
	stopped bool
}

// Serve starts `avis serve` (with args) from bin with the environment env,
// its log going to this process's standard error.
func Serve(bin string, env []string, args ...string) (*Avis, error) {
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Env, cmd.Stderr = env, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start avis: %w", err)
	}
	return &Avis{Cmd: cmd}, nil
}

// Pid is the process id.
func (a *Avis) Pid() int { return a.Cmd.Process.Pid }

// Stop asks avis to shut down (SIGINT) and waits for it; again does
// nothing.
func (a *Avis) Stop() {
	if a.stopped {
		return
	}
	a.stopped = true
	a.Cmd.Process.Signal(os.Interrupt)
	a.Cmd.Wait()
}

// WaitReady waits, at most a minute, for avis at base (http://host:port)
// to answer /readyz.
func WaitReady(base string) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		r, err := http.Get(base + "/readyz")
		if err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("avis at %s did not become ready within a minute", base)
}
