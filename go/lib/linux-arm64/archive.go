//go:build linux && arm64 && !musl

package linuxarm64

// ArchiveSHA256 is the sha256 of librpyc_bridge.a in this folder. Its value comes from
// zz_archive.go, which is written with the archive: by scripts/build.sh in the rpyc-bridge
// repository, and into this module's zip by scripts/dist.sh for a release. A rebuilt
// archive changes it, so go build relinks (the build cache does not look at the .a itself).
//
// Without the archive the compiler stops on this line, and the name it cannot find says
// where the archive comes from.
const ArchiveSHA256 = no_librpyc_bridge_a_here__scripts_build_sh_in_the_rpyc_bridge_repository_builds_it__a_release_version_of_this_module_ships_it
