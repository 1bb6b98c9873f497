#!/usr/bin/env python3
"""Checks the Swift package against freshly generated bindings, without a Swift
compiler: the module, header and module-map names agree with Package.swift and
the build script, and every generated API the Swift sources call exists.
Run after bindings/generate.sh. Exits non-zero on any mismatch."""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
generated = root / "target/bindings/swift"
swift = (generated / "SoftToken.swift").read_text()
header = generated / "SoftTokenFFI.h"
modulemap = (generated / "SoftTokenFFI.modulemap").read_text()
package = (root / "ios/Package.swift").read_text()
script = (root / "ios/build-xcframework.sh").read_text()

problems = []

def check(ok, what):
    if not ok:
        problems.append(what)

check(header.exists(), "SoftTokenFFI.h was not generated")
check(re.search(r"module\s+SoftTokenFFI\s*\{", modulemap) is not None, "the module map does not declare module SoftTokenFFI")
check('header "SoftTokenFFI.h"' in modulemap, "the module map does not name SoftTokenFFI.h")
check("import SoftTokenFFI" in swift, "the generated Swift does not import SoftTokenFFI")
check('.binaryTarget(name: "SoftTokenFFI", path: "SoftTokenFFI.xcframework")' in package, "Package.swift has no SoftTokenFFI binary target")
check('name: "SoftToken"' in package, "Package.swift has no SoftToken target")
check("module.modulemap" in script and "SoftTokenFFI.h" in script, "build-xcframework.sh does not install the header and module map")
for target in ["aarch64-apple-ios", "aarch64-apple-ios-sim", "x86_64-apple-ios"]:
    check(target in script, f"build-xcframework.sh does not build {target}")
check("-create-xcframework" in script, "build-xcframework.sh does not call xcodebuild -create-xcframework")

# Every generated declaration the hand-written Swift relies on.
declared = set(re.findall(r"\b(?:func|class|enum|struct|protocol)\s+([A-Za-z_][A-Za-z0-9_]*)", swift))
declared |= set(re.findall(r"^\s*case\s+([A-Za-z_][A-Za-z0-9_]*)", swift, re.M))
declared |= set(re.findall(r"public (?:let|var) ([A-Za-z_][A-Za-z0-9_]*)", swift))
sources = list((root / "ios").rglob("*.swift"))
sources = [p for p in sources if "Generated" not in p.parts and ".build" not in p.parts]
api = ["TokenVault", "Verifier", "SecureStore", "Clock", "HostError", "SoftTokenError", "Code", "TokenInfo",
       "Outcome", "Algorithm", "TokenKind", "generateTotp", "generateHotp", "parseSerial", "formatSerial",
       "parseKeyUri", "withPrefix", "withPolicy", "issue", "importUri", "tokens", "code", "delete", "reissue",
       "exportUri", "setClockOffset", "clockOffset", "nowUnixSeconds", "read", "write", "register", "login",
       "unlock", "addKeyUri", "issueToken", "displaySerial", "nextValue", "secondsLeft", "progress", "issuedHere",
       "Failed", "InvalidSecret", "TokenCard", "cards", "title", "spokenSerial", "groupedValue", "spokenValue",
       "groupedNextValue", "remaining", "ending", "originText", "Origin", "InvalidSerial", "Store", "CorruptStore", "accepted", "replayed", "wrongCode", "locked",
       "HttpTransport", "HttpResponse", "provision", "syncTime", "retryAfterSeconds", "Offline", "RateLimited",
       "BadResponse", "ServiceRefused", "iosPrefix", "issueToken"]
used = set()
for path in sources:
    text = path.read_text()
    used |= {name for name in api if re.search(r"\b" + name + r"\b", text)}
for name in sorted(used):
    check(name in declared, f"the Swift sources use {name}, which the generated bindings do not declare")

for p in problems:
    print(f"swift-check: {p}")
print(f"swift-check: {len(used)} generated names used by {len(sources)} Swift files all declared; "
      f"header, module map and package agree" if not problems else f"swift-check: {len(problems)} problems")
sys.exit(1 if problems else 0)
