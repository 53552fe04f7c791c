// The common-password list in common-passwords.txt.gz is the "passwords"
// frequency list of zxcvbn 4.4.2 (npm package zxcvbn, lib/frequency_lists.js,
// https://github.com/dropbox/zxcvbn), Copyright (c) 2012-2016 Dan Wheeler and
// Dropbox, Inc., released under the MIT licence. zxcvbn derived it from Mark
// Burnett's 10M password corpus. It holds the 30,000 most common passwords,
// most common first, lowercased and deduplicated, one per line, gzipped.

package password

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"strings"
	"sync"
)

//go:embed common-passwords.txt.gz
var commonPasswordsGz []byte

var (
	commonOnce sync.Once
	commonSet  map[string]struct{}
)

// loadCommon decompresses the embedded list into a set. The list is embedded
// at build time, so a failure to read it is a programming error.
func loadCommon() {
	zr, err := gzip.NewReader(bytes.NewReader(commonPasswordsGz))
	if err != nil {
		panic("password: reading embedded common-password list: " + err.Error())
	}
	defer zr.Close()
	set := make(map[string]struct{}, 30000)
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 4096), 4096)
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			set[line] = struct{}{}
		}
	}
	if err := sc.Err(); err != nil {
		panic("password: reading embedded common-password list: " + err.Error())
	}
	commonSet = set
}

// commonPasswords returns the set of common passwords, building it on first
// use.
func commonPasswords() map[string]struct{} {
	commonOnce.Do(loadCommon)
	return commonSet
}

// Common reports whether pw is on the list of common passwords, ignoring case.
func Common(pw string) bool {
	_, ok := commonPasswords()[strings.ToLower(pw)]
	return ok
}
