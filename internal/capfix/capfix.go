// Package capfix works around hosts whose capability bounding set is shorter
// than what container engines assume. Docker requests every capability it
// knows for privileged containers; when the bounding set lacks one of them
// (CAP_SYS_RESOURCE on some nested VMs), runc fails with "unable to apply
// caps: operation not permitted". The helpers here find the capabilities the
// live bounding set lacks and strip them from OCI JSON documents, so that the
// container gets everything the host can actually grant.
package capfix

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// capNames follows the kernel's numbering in include/uapi/linux/capability.h.
var capNames = [...]string{
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// CapSets are the capability sets an OCI process may carry.
var CapSets = []string{"bounding", "effective", "inheritable", "permitted", "ambient"}

// Name returns the conventional name of capability n. Numbers newer than the
// table still get a stable name so that they can be reported, even though no
// OCI document would spell them that way.
func Name(n int) string {
	if n >= 0 && n < len(capNames) {
		return capNames[n]
	}
	return "CAP_" + strconv.Itoa(n)
}

// ParseBoundingSet extracts the CapBnd mask from the text of /proc/<pid>/status.
func ParseBoundingSet(procStatus string) (uint64, error) {
	sc := bufio.NewScanner(strings.NewReader(procStatus))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || key != "CapBnd" {
			continue
		}
		val = strings.TrimSpace(val)
		mask, err := strconv.ParseUint(val, 16, 64)
		if err != nil {
			return 0, fmt.Errorf("parse CapBnd %q: %w", val, err)
		}
		return mask, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no CapBnd line in process status")
}

// Missing lists, in capability-number order, the capabilities up to lastCap
// (the kernel's highest known capability) that the bounding set lacks.
// Capabilities beyond lastCap are not reported: the kernel cannot grant them
// anyway, and runc already skips names it does not know.
func Missing(bounding uint64, lastCap int) []string {
	var out []string
	for n := 0; n <= lastCap && n < 64; n++ {
		if bounding&(1<<uint(n)) == 0 {
			out = append(out, Name(n))
		}
	}
	return out
}

// Probe reports the capabilities the calling process's bounding set lacks.
// A child inherits (at most) this bounding set, so whatever is missing here is
// exactly what runc, exec'd from this process, would fail to apply.
func Probe() ([]string, error) {
	return probeFiles("/proc/self/status", "/proc/sys/kernel/cap_last_cap")
}

func probeFiles(statusPath, lastCapPath string) ([]string, error) {
	status, err := os.ReadFile(statusPath)
	if err != nil {
		return nil, err
	}
	bounding, err := ParseBoundingSet(string(status))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", statusPath, err)
	}
	raw, err := os.ReadFile(lastCapPath)
	if err != nil {
		return nil, err
	}
	lastCap, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", lastCapPath, err)
	}
	return Missing(bounding, lastCap), nil
}

// Paths of the capabilities object in the two documents runc reads: the
// bundle's config.json and the process file given to "runc exec --process".
var (
	ConfigPath  = []string{"process", "capabilities"}
	ProcessPath = []string{"capabilities"}
)

// StripCapabilities removes every name in drop from each capability set of
// the object found at path inside the JSON document doc. It reports whether
// anything was removed; when nothing was, doc is returned as is so callers can
// skip rewriting the file. Objects are decoded into json.RawMessage maps so
// that fields this package does not know, and large integers such as memory
// limits, survive byte for byte; only key order and whitespace may change.
// A missing or null object along path means there is nothing to strip.
func StripCapabilities(doc []byte, path []string, drop map[string]bool) ([]byte, bool, error) {
	if len(drop) == 0 {
		return doc, false, nil
	}
	out, changed, err := stripAt(doc, path, drop)
	if err != nil || !changed {
		return doc, false, err
	}
	return out, true, nil
}

func stripAt(raw json.RawMessage, path []string, drop map[string]bool) (json.RawMessage, bool, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, false, err
	}
	if obj == nil {
		return raw, false, nil
	}
	changed := false
	if len(path) > 0 {
		child, ok := obj[path[0]]
		if !ok {
			return raw, false, nil
		}
		newChild, c, err := stripAt(child, path[1:], drop)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path[0], err)
		}
		if !c {
			return raw, false, nil
		}
		obj[path[0]] = newChild
		changed = true
	} else {
		for _, set := range CapSets {
			v, ok := obj[set]
			if !ok {
				continue
			}
			var names []string
			if err := json.Unmarshal(v, &names); err != nil {
				return nil, false, fmt.Errorf("%s: %w", set, err)
			}
			if names == nil {
				continue
			}
			// Non-nil so that an emptied set stays [] rather than turning into null.
			kept := make([]string, 0, len(names))
			for _, n := range names {
				if !drop[n] {
					kept = append(kept, n)
				}
			}
			if len(kept) == len(names) {
				continue
			}
			enc, err := marshal(kept)
			if err != nil {
				return nil, false, err
			}
			obj[set] = enc
			changed = true
		}
		if !changed {
			return raw, false, nil
		}
	}
	enc, err := marshal(obj)
	if err != nil {
		return nil, false, err
	}
	return enc, true, nil
}

// marshal avoids json.Marshal's HTML escaping so that strings such as shell
// commands containing '<' or '&' keep their original spelling.
func marshal(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
