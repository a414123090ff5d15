// Package image is minirun's local image store: it keeps container images
// on disk in the OCI image layout and unpacks their layers into directories
// that overlayfs can stack into a container's root filesystem.
//
// # What an OCI image is
//
// An image is a handful of JSON documents plus some tar archives, each
// stored as a "blob" and named by the digest (sha256 hash) of its bytes.
// Because the name is the hash, a blob can be checked after every download
// and two images that share a blob store it only once ("content-addressed").
//
//   - The manifest (image-spec manifest.md) is the image's table of
//     contents: one descriptor (media type, digest, size) for the config and
//     one for each layer, bottom layer first. The digest of the manifest is
//     what "busybox@sha256:..." refers to.
//   - The config (config.md) says how to run the image (entrypoint, command,
//     environment, working directory, user ...), for which platform it was
//     built, and its history. Its digest is the image ID docker shows.
//   - A layer (layer.md) is a tar archive of file system changes: the files
//     a build step added or changed, and "whiteouts" for the files it
//     deleted. Layers are usually gzip-compressed; newer images may use
//     zstd (media type ...tar+zstd), which is smaller and faster to unpack.
//     UnpackLayer reads plain, gzip and zstd tars, told apart by their
//     first bytes (1f 8b for gzip, 28 b5 2f fd for zstd).
//   - The index (image-layout.md, image-index.md) lists manifests. Ours,
//     images/index.json, is the list of tags: each entry points to a
//     manifest and carries the annotation org.opencontainers.image.ref.name
//     with the full reference, for example docker.io/library/busybox:latest.
//
// A layer has two digests, and it is easy to mix them up. The manifest names
// the compressed blob (that is what a registry sends and what is stored).
// The config lists "diff IDs": digests of the uncompressed tar. The diff ID
// identifies the content itself, whatever the compression, so this store
// names unpacked layer directories by it. UnpackLayer computes the diff ID
// while unpacking and refuses a layer whose content does not match.
//
// # Layout on disk
//
//	<root>/images/oci-layout            {"imageLayoutVersion":"1.0.0"}
//	<root>/images/index.json            the tags (an OCI image index)
//	<root>/images/blobs/sha256/<hex>    manifests, configs, layer tars
//	<root>/images/.lock                 flock(2)ed while index.json changes or GC deletes
//	<root>/images/.tmp-*                blobs and index updates being written
//	<root>/layers/<diff-id-hex>/        one unpacked layer, shared by all images
//	<root>/layers/.tmp-*/               layers being unpacked (.tmp-del-*: being deleted)
//
// images/ is a valid OCI image layout: tools such as skopeo or umoci can
// read it. Every file is written under a temporary name and renamed into
// place, so a reader never sees half a file. A layer is unpacked into
// layers/.tmp-<random>/ and renamed when complete, so a layer directory
// either is complete or does not exist. Changes to index.json happen under
// a lock on images/.lock, so concurrent imports cannot lose each other's
// tags.
//
// An entry of index.json without a ref name is a dangling image (docker's
// "<none>:<none>"): one that lost its last tag, for example when a newer
// pull moved the tag, but that a container may still use. Dangling images
// are found by ID, not listed, and deleted by Prune once no container uses
// them. Deleting images and collecting unreferenced blobs and layers
// (Remove, Prune) is explained in gc.go, including how that stays safe
// while other processes pull, load or import; reading and writing image
// archives (Load, Save, docker save and OCI layout tarballs) in archive.go.
//
// # From layers to a root file system
//
// overlayfs (kernel documentation Documentation/filesystems/overlayfs.rst)
// stacks directories: the "lowerdirs" are read-only layers, the "upperdir"
// receives the container's own changes. An image's Layers are the lowerdirs,
// bottom first, as in the manifest. (The mount option lists them the other
// way round: lowerdir=top:...:bottom.) The same layer directory can serve any
// number of images and containers, since nothing ever writes to it.
//
// # Whiteouts
//
// A layer must be able to say "this file of a lower layer is gone". In the
// tar (layer.md, "Whiteouts") that is an empty file named ".wh.<name>"
// next to where <name> was, and ".wh..wh..opq" inside a directory means
// "ignore everything lower layers have in this directory" (an opaque
// directory). overlayfs has its own form for the same ideas, and UnpackLayer
// converts:
//
//   - "dir/.wh.name" becomes a character device "dir/name" with device
//     number 0/0 (see man 2 mknod), which overlayfs treats as "deleted".
//   - "dir/.wh..wh..opq" becomes the extended attribute
//     trusted.overlay.opaque="y" on dir (see man 7 xattr; the trusted.*
//     namespace needs root).
//
// A whiteout only hides files of lower layers; an entry of the same layer
// with the same name wins over it.
//
// # Why unpacking is a security boundary
//
// Layers come from whoever published the image, and a tar archive can name
// any path: "../../etc/passwd", "/etc/shadow", or "lib/x" after making "lib"
// a symlink to "/etc". A careless unpacker run as root would write those on
// the host. UnpackLayer therefore refuses names that climb out with "..",
// makes absolute names relative to the layer, resolves parent directories
// with github.com/cyphar/filepath-securejoin as if the layer directory were
// "/" (symlinks cannot leave it), never follows a symlink at the last path
// component (it removes what is there and creates with O_EXCL|O_NOFOLLOW),
// only creates hard links to files inside the layer, and ignores
// trusted.overlay.* xattrs in the tar, which would steer overlayfs. It keeps
// what an image legitimately needs: owners, modes including setuid, setgid
// and sticky bits, times, xattrs such as file capabilities, device nodes,
// fifos and hard links.
//
// # References
//
//   - OCI image-spec, https://github.com/opencontainers/image-spec:
//     image-layout.md, manifest.md, config.md, layer.md, image-index.md.
//   - man 2 mknod, man 7 xattr, man 2 flock, man 2 rename.
//   - Linux Documentation/filesystems/overlayfs.rst.
package image
