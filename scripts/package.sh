#!/usr/bin/env bash
# Makes Pinhole's release artifacts (docs/packaging.md):
#   artifacts/packages/*.nupkg, *.snupkg   the libraries and the `pinhole` dotnet tool (Pinhole.Cli), with symbols
#   artifacts/native/linux-x64/pinhole     the CLI as a NativeAOT binary (no .NET runtime needed to run it)
# Usage: scripts/package.sh [--no-native] [--version X.Y.Z]
# SourceLink is on when the checkout has a GitHub `origin` remote (it maps the PDBs to raw.githubusercontent.com
# URLs of this commit); elsewhere the packages are made without it and the script says so.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
native=true
version_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-native) native=false ;;
    --version) version_args=(-p:Version="$2"); shift ;;
    *) echo "package: unknown option '$1' (usage: scripts/package.sh [--no-native] [--version X.Y.Z])" >&2; exit 2 ;;
  esac
  shift
done

out="$root/artifacts/packages"
rm -rf "$out"; mkdir -p "$out"
# Reproducible: paths in PDBs mapped to /_/, deterministic compiler output (Directory.Build.props).
props=(-p:ContinuousIntegrationBuild=true "${version_args[@]}")
origin=$(git remote get-url origin 2>/dev/null || true)
if [[ "$origin" =~ ^(https://|git@|ssh://git@)github\.com[:/] ]]; then
  props+=(-p:PinholeSourceLink=true)
  echo "package: SourceLink to $origin"
else
  echo "package: no GitHub 'origin' remote${origin:+ ($origin)}: packages are made without SourceLink" >&2
fi

# Every packable project in the solution (the libraries and the CLI as a tool); tests, bench, samples are not.
dotnet pack Pinhole.slnx -c Release -nologo -v q -o "$out" "${props[@]}"
echo "package: $(find "$out" -name '*.nupkg' | wc -l) packages, $(find "$out" -name '*.snupkg' | wc -l) symbol packages in ${out#"$root"/}"

if $native; then
  # NativeAOT: the trim and AOT analysis of the whole program; its warnings fail the publish (Pinhole.Cli.csproj).
  rid=linux-x64
  dest="$root/artifacts/native/$rid"
  rm -rf "$dest"
  dotnet publish src/Pinhole.Cli -c Release -nologo -v q -r "$rid" -p:PublishAot=true -o "$dest" "${props[@]}"
  "$dest/pinhole" --version
  echo "package: native binary ${dest#"$root"/}/pinhole ($(du -h "$dest/pinhole" | cut -f1))"
fi
