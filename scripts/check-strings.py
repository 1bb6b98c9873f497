#!/usr/bin/env python3
"""Every user-facing string of the phone apps exists in English and Japanese:
Android's R.string names in values/ and values-ja/, and the SwiftUI literals in
the String Catalog with a Japanese translation. Exits non-zero when one is missing."""
import json
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
problems = []

# Android: every R.string.x used in Kotlin is defined in both languages, with the same placeholders.
def strings(path):
    text = path.read_text(encoding="utf-8")
    return dict(re.findall(r'<string name="([a-z_0-9]+)">(.*?)</string>', text, re.S))

en = strings(root / "android/app/src/main/res/values/strings.xml")
ja = strings(root / "android/app/src/main/res/values-ja/strings.xml")
used = set()
for kt in (root / "android").rglob("*.kt"):
    used |= set(re.findall(r"R\.string\.([a-z_0-9]+)", kt.read_text(encoding="utf-8")))
for name in sorted(used):
    if name not in en:
        problems.append(f"android: R.string.{name} has no English string")
    if name not in ja:
        problems.append(f"android: R.string.{name} has no Japanese string")
for name in en:
    if name in ja and sorted(re.findall(r"%\d\$[sd]", en[name])) != sorted(re.findall(r"%\d\$[sd]", ja[name])):
        problems.append(f"android: {name} has different placeholders in English and Japanese")
missing_ja = set(en) - set(ja)
problems += [f"android: {n} is not translated to Japanese" for n in sorted(missing_ja)]

# iOS: every literal shown through Text/Button/Label/alert/String(localized:) is in the catalog, in Japanese.
catalog = json.loads((root / "ios/App/SoftTokenApp/Localizable.xcstrings").read_text(encoding="utf-8"))["strings"]
def shape(key):
    """A key with its placeholders, or Swift interpolations (nested parentheses included), as {}."""
    out, i = "", 0
    while i < len(key):
        if key.startswith("\\(", i):
            depth, i = 1, i + 2
            while i < len(key) and depth:
                depth += {"(": 1, ")": -1}.get(key[i], 0)
                i += 1
            out += "{}"
        else:
            out += key[i]
            i += 1
    return re.sub(r"%(?:lld|@|d)", "{}", out)
keys = {shape(k): v for k, v in catalog.items()}
calls = r'(?:\bText\(|\bButton\(|\bLabel\(|String\(localized:|\.alert\(|\.navigationTitle\(|\bTextField\(|accessibilityHint\(|accessibilityLabel\()\s*"((?:[^"\\]|\\.)*)"'
literals = set()
for swift in (root / "ios/App").rglob("*.swift"):
    literals |= set(re.findall(calls, swift.read_text(encoding="utf-8")))
for literal in sorted(literals):
    entry = keys.get(shape(literal))
    if entry is None:
        problems.append(f"ios: \"{literal}\" is not in the String Catalog")
    elif "ja" not in entry.get("localizations", {}):
        problems.append(f"ios: \"{literal}\" has no Japanese translation")

for p in problems:
    print(f"strings: {p}")
print(f"strings: {len(used)} Android strings and {len(literals)} iOS strings checked in English and Japanese" if not problems
      else f"strings: {len(problems)} problems")
sys.exit(1 if problems else 0)
