#!/usr/bin/env bash
# Refresh src/truceline/web/static/vendor/ from the npm registry.
#
# For each package in src/truceline/web/vendor.json: `npm pack` the pinned version, check
# its integrity against the manifest, and copy only the listed files (by their base name)
# plus a VERSION file taken from the tarball's package.json into static/vendor/<package>/,
# then apply the package's "patches" (each an exact text replacement that must match).
# Vendor directories no longer in the manifest are removed. Needs node and npm.
#
# To move a package to a new version, set "version" and "integrity" in vendor.json
# (`npm view PACKAGE@VERSION dist.integrity`), run this script, and update
# static/vendor/README.md.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
manifest="$repo/src/truceline/web/vendor.json"
vendor="$repo/src/truceline/web/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# One line per package: name, version, integrity, then the files to copy.
entries() {
    node -e '
        const manifest = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        for (const [name, spec] of Object.entries(manifest)) {
            console.log([name, spec.version, spec.integrity, ...spec.files].join(" "));
        }
    ' "$manifest"
}

# The value of KEY in the JSON object that `npm pack --json` printed for one package.
pack_field() {
    node -e '
        const packed = JSON.parse(require("fs").readFileSync(0, "utf8"));
        console.log(packed[0][process.argv[1]]);
    ' "$1"
}

# Apply the manifest's patches for package $1 to the files copied into directory $2.
apply_patches() {
    node -e '
        const fs = require("fs");
        const path = require("path");
        const [manifestPath, name, dest] = process.argv.slice(1);
        const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8"));
        for (const patch of manifest[name].patches || []) {
            const file = path.join(dest, patch.file);
            const text = fs.readFileSync(file, "utf8");
            if (!text.includes(patch.replace)) {
                console.error(`${name}: ${patch.file} no longer contains ${patch.replace}`);
                process.exit(1);
            }
            fs.writeFileSync(file, text.split(patch.replace).join(patch.with));
            console.log(`${name}: patched ${patch.file} (${patch.why})`);
        }
    ' "$manifest" "$1" "$2"
}

package_version() {
    node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).version)' "$1"
}

vendor_one() {
    local name="$1" version="$2" integrity="$3"
    shift 3
    local packed tarball unpacked="$work/$name" dest="$vendor/$name"

    packed="$(cd "$work" && npm pack --json --ignore-scripts --silent "$name@$version")"
    if [[ "$(pack_field integrity <<<"$packed")" != "$integrity" ]]; then
        echo "$name@$version: integrity differs from vendor.json" >&2
        return 1
    fi
    tarball="$work/$(pack_field filename <<<"$packed")"
    mkdir -p "$unpacked"
    tar -xzf "$tarball" -C "$unpacked" --strip-components=1
    if [[ "$(package_version "$unpacked/package.json")" != "$version" ]]; then
        echo "$name@$version: the tarball's package.json names another version" >&2
        return 1
    fi

    rm -rf "$dest"
    mkdir -p "$dest"
    for file in "$@"; do
        cp "$unpacked/$file" "$dest/$(basename "$file")"
    done
    package_version "$unpacked/package.json" >"$dest/VERSION"
    apply_patches "$name" "$dest"
    echo "$name@$version: $*"
}

remove_unlisted() {
    local dir
    for dir in "$vendor"/*/; do
        [[ -d "$dir" ]] || continue
        if ! node -e 'process.exit(process.argv[2] in JSON.parse(require("fs").readFileSync(
                process.argv[1], "utf8")) ? 0 : 1)' "$manifest" "$(basename "$dir")"; then
            echo "removing $(basename "$dir"): not in vendor.json"
            rm -rf "$dir"
        fi
    done
}

mkdir -p "$vendor"
while read -r -a entry; do
    vendor_one "${entry[@]}"
done < <(entries)
remove_unlisted
