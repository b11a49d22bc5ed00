// Command modproxy writes and checks a Go module proxy file tree (what GOPROXY=file://DIR
// reads: <module>/@v/list, <version>.info, .mod, .zip), with the module zips made by
// golang.org/x/mod/zip, the reference implementation of Go's rules for them.
//
//	modproxy add -proxy DIR -module PATH -version VERSION -dir DIR [-time RFC3339]
//	    zips DIR (a module root holding go.mod) as PATH@VERSION into the tree
//	modproxy check -proxy DIR
//	    checks every module version in the tree: its zip follows the rules, holds only
//	    files of that module, and its go.mod is the .mod file; prints each one's size and hash
//	modproxy files -zip FILE
//	    lists the files in a module zip (paths inside the module)
//	modproxy unzip -zip FILE -module PATH -version VERSION -dir DIR
//	    extracts a module zip into DIR (which must not exist or be empty)
//	modproxy vcs -repo DIR -rev REV -subdir DIR -module PATH -version VERSION -zip FILE
//	    zips the module from a git revision, as a module proxy would from a tag, and checks
//	    that it has the same hash (h1:) as FILE
//
// It is used by scripts/dist.sh (and the release workflow); it is its own module, so that
// the rpyc module depends on nothing.
package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "add":
		err = add(os.Args[2:])
	case "check":
		err = check(os.Args[2:])
	case "files":
		err = files(os.Args[2:])
	case "unzip":
		err = unzip(os.Args[2:])
	case "vcs":
		err = vcs(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "modproxy:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: modproxy add -proxy DIR -module PATH -version VERSION -dir DIR [-time RFC3339]")
	fmt.Fprintln(os.Stderr, "       modproxy check -proxy DIR")
	fmt.Fprintln(os.Stderr, "       modproxy files -zip FILE")
	fmt.Fprintln(os.Stderr, "       modproxy unzip -zip FILE -module PATH -version VERSION -dir DIR")
	fmt.Fprintln(os.Stderr, "       modproxy vcs -repo DIR -rev REV -subdir DIR -module PATH -version VERSION -zip FILE")
	os.Exit(2)
}

type info struct {
	Version string
	Time    time.Time
}

func add(args []string) error {
	fl := flag.NewFlagSet("add", flag.ExitOnError)
	proxy := fl.String("proxy", "", "the proxy tree")
	path := fl.String("module", "", "module path")
	version := fl.String("version", "", "module version (vX.Y.Z)")
	dir := fl.String("dir", "", "the module's root folder")
	stamp := fl.String("time", "", "the version's time, RFC 3339 (default: now)")
	_ = fl.Parse(args)
	if *proxy == "" || *path == "" || *version == "" || *dir == "" {
		usage()
	}
	mv := module.Version{Path: *path, Version: *version}
	if err := module.Check(mv.Path, mv.Version); err != nil {
		return err
	}
	if semver.Canonical(mv.Version) != mv.Version {
		return fmt.Errorf("%s is not a canonical version (vMAJOR.MINOR.PATCH)", mv.Version)
	}
	when := time.Now().UTC().Truncate(time.Second)
	if *stamp != "" {
		t, err := time.Parse(time.RFC3339, *stamp)
		if err != nil {
			return err
		}
		when = t.UTC()
	}
	gomod, err := os.ReadFile(filepath.Join(*dir, "go.mod"))
	if err != nil {
		return err
	}
	if got := modulePath(gomod); got != mv.Path {
		return fmt.Errorf("%s/go.mod says module %q, not %q", *dir, got, mv.Path)
	}
	// What the rules would refuse or leave out, said before anything is written.
	files, err := modzip.CheckDir(*dir)
	if err != nil {
		return fmt.Errorf("%s: %w", *dir, err)
	}
	if len(files.Omitted) > 0 {
		for _, f := range files.Omitted {
			fmt.Fprintf(os.Stderr, "modproxy: %s: left out: %s (%v)\n", mv, f.Path, f.Err)
		}
	}

	at, err := versionDir(*proxy, mv.Path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(at, 0o755); err != nil {
		return err
	}
	ev, err := module.EscapeVersion(mv.Version)
	if err != nil {
		return err
	}
	zipPath := filepath.Join(at, ev+".zip")
	tmp, err := os.CreateTemp(at, ".zip-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := modzip.CreateFromDir(tmp, mv, *dir); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", mv, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), zipPath); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(at, ev+".mod"), gomod, 0o644); err != nil {
		return err
	}
	js, err := json.Marshal(info{Version: mv.Version, Time: when})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(at, ev+".info"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := addToList(filepath.Join(at, "list"), mv.Version); err != nil {
		return err
	}
	return describe(mv, zipPath)
}

// versionDir is <proxy>/<escaped module path>/@v.
func versionDir(proxy, path string) (string, error) {
	ep, err := module.EscapePath(path)
	if err != nil {
		return "", err
	}
	return filepath.Join(proxy, filepath.FromSlash(ep), "@v"), nil
}

func addToList(list, version string) error {
	var versions []string
	if data, err := os.ReadFile(list); err == nil {
		for _, v := range strings.Fields(string(data)) {
			if v != version {
				versions = append(versions, v)
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	versions = append(versions, version)
	semver.Sort(versions)
	return os.WriteFile(list, []byte(strings.Join(versions, "\n")+"\n"), 0o644)
}

func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

func describe(mv module.Version, zipPath string) error {
	st, err := os.Stat(zipPath)
	if err != nil {
		return err
	}
	h1, err := dirhash.HashZip(zipPath, dirhash.Hash1)
	if err != nil {
		return err
	}
	fmt.Printf("%s %s %d bytes %s\n", mv.Path, mv.Version, st.Size(), h1)
	return nil
}

func check(args []string) error {
	fl := flag.NewFlagSet("check", flag.ExitOnError)
	proxy := fl.String("proxy", "", "the proxy tree")
	_ = fl.Parse(args)
	if *proxy == "" {
		usage()
	}
	var lists []string
	err := filepath.WalkDir(*proxy, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "list" && filepath.Base(filepath.Dir(p)) == "@v" {
			lists = append(lists, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	if len(lists) == 0 {
		return fmt.Errorf("%s holds no module", *proxy)
	}
	sort.Strings(lists)
	for _, list := range lists {
		at := filepath.Dir(list)
		rel, err := filepath.Rel(*proxy, filepath.Dir(at))
		if err != nil {
			return err
		}
		path, err := module.UnescapePath(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		data, err := os.ReadFile(list)
		if err != nil {
			return err
		}
		for _, v := range strings.Fields(string(data)) {
			if err := checkVersion(at, module.Version{Path: path, Version: v}); err != nil {
				return fmt.Errorf("%s: %w", module.Version{Path: path, Version: v}, err)
			}
		}
	}
	return nil
}

func checkVersion(at string, mv module.Version) error {
	ev, err := module.EscapeVersion(mv.Version)
	if err != nil {
		return err
	}
	var inf info
	js, err := os.ReadFile(filepath.Join(at, ev+".info"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(js, &inf); err != nil {
		return fmt.Errorf("%s.info: %w", ev, err)
	}
	if inf.Version != mv.Version || inf.Time.IsZero() {
		return fmt.Errorf("%s.info says %q at %v", ev, inf.Version, inf.Time)
	}
	zipPath := filepath.Join(at, ev+".zip")
	files, err := modzip.CheckZip(mv, zipPath)
	if err != nil {
		return err
	}
	if err := files.Err(); err != nil {
		return err
	}
	gomod, err := os.ReadFile(filepath.Join(at, ev+".mod"))
	if err != nil {
		return err
	}
	inZip, err := readZipFile(zipPath, mv.String()+"/go.mod")
	if err != nil {
		return err
	}
	if !bytes.Equal(gomod, inZip) {
		return fmt.Errorf("%s.mod differs from the go.mod in %s.zip", ev, ev)
	}
	if got := modulePath(gomod); got != mv.Path {
		return fmt.Errorf("%s.mod says module %q", ev, got)
	}
	return describe(mv, zipPath)
}

func readZipFile(zipPath, name string) ([]byte, error) {
	z, err := zip.OpenReader(zipPath)
	if err != nil {
		return nil, err
	}
	defer z.Close()
	for _, f := range z.File {
		if f.Name == name {
			r, err := f.Open()
			if err != nil {
				return nil, err
			}
			defer r.Close()
			return io.ReadAll(r)
		}
	}
	return nil, fmt.Errorf("%s has no %s", zipPath, name)
}

func files(args []string) error {
	fl := flag.NewFlagSet("files", flag.ExitOnError)
	zipPath := fl.String("zip", "", "a module zip")
	_ = fl.Parse(args)
	if *zipPath == "" {
		usage()
	}
	z, err := zip.OpenReader(*zipPath)
	if err != nil {
		return err
	}
	defer z.Close()
	// Each name is path@version/file; a module path has slashes, so cut after the "@".
	for _, f := range z.File {
		at := strings.Index(f.Name, "@")
		if at < 0 {
			continue
		}
		if slash := strings.Index(f.Name[at:], "/"); slash >= 0 {
			fmt.Println(f.Name[at+slash+1:])
		}
	}
	return nil
}

func unzip(args []string) error {
	fl := flag.NewFlagSet("unzip", flag.ExitOnError)
	zipPath := fl.String("zip", "", "a module zip")
	path := fl.String("module", "", "module path")
	version := fl.String("version", "", "module version")
	dir := fl.String("dir", "", "where to extract it")
	_ = fl.Parse(args)
	if *zipPath == "" || *path == "" || *version == "" || *dir == "" {
		usage()
	}
	return modzip.Unzip(*dir, module.Version{Path: *path, Version: *version}, *zipPath)
}

func vcs(args []string) error {
	fl := flag.NewFlagSet("vcs", flag.ExitOnError)
	repo := fl.String("repo", "", "a git repository")
	rev := fl.String("rev", "", "a revision (a tag)")
	subdir := fl.String("subdir", "", "the module's folder in the repository")
	path := fl.String("module", "", "module path")
	version := fl.String("version", "", "module version")
	zipPath := fl.String("zip", "", "the module zip to compare with")
	_ = fl.Parse(args)
	if *repo == "" || *rev == "" || *path == "" || *version == "" || *zipPath == "" {
		usage()
	}
	tmp, err := os.CreateTemp("", "modproxy-vcs-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	mv := module.Version{Path: *path, Version: *version}
	if err := modzip.CreateFromVCS(tmp, mv, *repo, *rev, *subdir); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	fromVCS, err := dirhash.HashZip(tmp.Name(), dirhash.Hash1)
	if err != nil {
		return err
	}
	published, err := dirhash.HashZip(*zipPath, dirhash.Hash1)
	if err != nil {
		return err
	}
	if fromVCS != published {
		return fmt.Errorf("%s at %s (%s) zips to %s, the published zip is %s", mv, *rev, *subdir, fromVCS, published)
	}
	fmt.Printf("%s %s at %s: %s, as published\n", mv.Path, mv.Version, *rev, fromVCS)
	return nil
}
