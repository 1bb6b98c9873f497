#!/usr/bin/env bash
# Compiles the generated Kotlin bindings with the Kotlin tests and runs them on
# the JVM against the freshly built libsofttoken_ffi.so (JNA), as CI does.
# Needs: Java 17, npm (kotlin-compiler), Debian's libjna-java and junit4
# (scripts/setup.sh installs them). Ends with "kotlin: N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

kotlinc=$(bash scripts/kotlinc.sh)

# The library and the token service in one profile: release, or $SOFTTOKEN_PROFILE
# (scripts/test.sh passes the profile its Rust tests were built in).
profile="${SOFTTOKEN_PROFILE:-release}"
export SOFTTOKEN_PROFILE="$profile"
bash bindings/generate.sh
cargo build --profile "$profile" --locked -p softtoken-server

jars=/usr/share/java
classpath="$jars/jna.jar:$jars/junit4.jar:$jars/hamcrest-core.jar"
build=target/kotlin
mkdir -p "$build"
sources=(target/bindings/kotlin/dev/softtoken/*.kt tests/kotlin/*.kt)
# Platform-free Kotlin of the Android app, tested here too when present.
if [ -d android/app/src/main/java/dev/softtoken/app/core ]; then
  sources+=(android/app/src/main/java/dev/softtoken/app/core/*.kt)
fi
if [ -d tests/kotlin/app ]; then
  sources+=(tests/kotlin/app/*.kt)
fi
echo "kotlin: compiling ${#sources[@]} files"
"$kotlinc" -nowarn -jvm-target 17 -cp "$classpath" -include-runtime -d "$build/tests.jar" "${sources[@]}"
java -Djna.library.path="target/$profile" -Dsofttoken.server="target/$profile/softtoken-server" -cp "$build/tests.jar:$classpath" dev.softtoken.tests.RunAllKt
