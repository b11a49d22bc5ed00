//go:build darwin && amd64

package darwinamd64

// ArchiveSHA256 is the sha256 of librpyc_bridge.a in this folder. Its value comes from
// zz_archive.go, which is written with the archive: by scripts/build.sh in the rpyc-bridge
// repository, and into this module's zip by scripts/dist.sh for a release. A rebuilt
// archive changes it, so go build relinks (the build cache does not look at the .a itself).
//
// Without the archive the compiler stops on this line, and the name it cannot find says
// where the archive comes from.
const ArchiveSHA256 = no_librpyc_bridge_a_here__it_is_built_on_macOS__by_scripts_build_sh_there_or_by_the_release_workflow_s_macOS_jobs__use_a_released_version
