#!/usr/bin/env bash
# The release workflow's publish step. Merges the dist/release/ folders of the build jobs
# (the Linux one, and one per macOS target), then makes the release commit and its tags:
#   OUT/*.tar.gz, OUT/SHA256SUMS   every tarball, and their sums
#   OUT/goproxy/                   one module tree: each platform module's zip from the job
#                                  that built its archive (the others publish it without)
#   a commit off HEAD whose go/ is exactly the module zips (archives included; main never
#   holds them), tagged go/vX.Y.Z and go/lib/<platform>/vX.Y.Z: what a module proxy reads.
#   Each tag's tree is zipped again as a proxy would (golang.org/x/mod/zip from git) and
#   must hash as the published zip.
# With --push, pushes those tags to origin.
#
# Usage: scripts/release-publish.sh [--push] OUT DIST_RELEASE_DIR...
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
push=
[[ ${1:-} == --push ]] && { push=1; shift; }
(($# >= 2)) || die "usage: scripts/release-publish.sh [--push] OUT DIST_RELEASE_DIR..."
out=$1; shift
command -v go >/dev/null || die "go not found: install Go 1.24 or newer"
version=v$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
root_module=$(sed -n 's/^module //p' go/go.mod)
# In the workflow, the tag that started it must be that version.
[[ -z ${GITHUB_REF_NAME:-} || $GITHUB_REF_NAME == "$version" ]] || die "tag $GITHUB_REF_NAME is not Cargo.toml's version $version"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd tools/modproxy && go build -o "$work/modproxy" .)
modproxy() { "$work/modproxy" "$@"; }

mkdir -p "$out/goproxy"
for dir in "$@"; do
    [[ -d $dir/goproxy ]] || die "$dir has no goproxy/ (is it a dist/release folder?)"
    cp "$dir"/*.tar.gz "$out/" 2>/dev/null || true
done
modules=("$root_module")
for lib in go/lib/*/; do modules+=("$root_module/lib/$(basename "$lib")"); done
for m in "${modules[@]}"; do
    chosen='' chosen_h1=''
    for dir in "$@"; do
        zip=$dir/goproxy/$m/@v/$version.zip
        [[ -f $zip ]] || continue
        if [[ $m == "$root_module" ]]; then
            # The rpyc module is the same source in every job: its hash must agree.
            h1=$(modproxy check -proxy "$dir/goproxy" | awk -v m="$m" '$1 == m {print $NF}')
            [[ -z $chosen_h1 || $h1 == "$chosen_h1" ]] || die "$m differs between the jobs ($chosen_h1, $h1)"
            [[ -n $chosen ]] || chosen=$dir chosen_h1=$h1
        elif modproxy files -zip "$zip" | grep -qx librpyc_bridge.a; then
            [[ -z $chosen || $chosen == stub:* ]] || die "$m: two jobs built its archive ($chosen, $dir)"
            chosen=$dir
        elif [[ -z $chosen ]]; then
            chosen=stub:$dir
        fi
    done
    [[ -n $chosen ]] || die "no job published $m"
    if [[ $chosen == stub:* ]]; then
        say "$m: no job built its archive; publishing it without (a build for it stops and says so)"
        chosen=${chosen#stub:}
    fi
    mkdir -p "$out/goproxy/$m/@v"
    cp "$chosen/goproxy/$m/@v/$version".{info,mod,zip} "$out/goproxy/$m/@v/"
    echo "$version" > "$out/goproxy/$m/@v/list"
done
modproxy check -proxy "$out/goproxy" >&2
(cd "$out" && sha256sum ./*.tar.gz > SHA256SUMS)

# The release commit: go/ replaced by the module zips, so each tag's tree is its zip.
tree=$work/tree
git worktree add -q --detach "$tree" HEAD
trap 'git worktree remove --force "$tree" 2>/dev/null || true; rm -rf "$work"' EXIT
git -C "$tree" rm -rq go
rm -rf "${tree:?}/go"
for m in "${modules[@]}"; do
    sub=go${m#"$root_module"}
    modproxy unzip -zip "$out/goproxy/$m/@v/$version.zip" -module "$m" -version "$version" -dir "$tree/$sub"
done
git -C "$tree" add -f go
git -C "$tree" -c user.name="rpyc-bridge release" -c user.email="release@rpyc-bridge.invalid" \
    commit -qm "release $version: the Go modules as published, with their archives"
tags=()
for m in "${modules[@]}"; do
    sub=go${m#"$root_module"}
    tag=$sub/$version
    git tag -f "$tag" "$(git -C "$tree" rev-parse HEAD)" >/dev/null
    modproxy vcs -repo . -rev "$tag" -subdir "$sub" -module "$m" -version "$version" \
        -zip "$out/goproxy/$m/@v/$version.zip" >&2
    tags+=("$tag")
done
say "release commit $(git -C "$tree" rev-parse --short HEAD), tags: ${tags[*]}"
if [[ -n $push ]]; then
    git push origin "${tags[@]/#/refs/tags/}"
fi
