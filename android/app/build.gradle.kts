plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
    alias(libs.plugins.kotlin.compose)
}

// The token service and the bank's words are build configuration, from Gradle properties
// (gradle.properties, ~/.gradle/gradle.properties or -P on the command line):
//   softtoken.serviceUrl        release builds: the service's https:// URL (required)
//   softtoken.devServiceUrl     debug builds: defaults to http://127.0.0.1:8080 (`adb reverse tcp:8080 tcp:8080`)
//   softtoken.bankName.en/.ja, softtoken.branchName.en/.ja   what the help calls the bank and its branches
//   softtoken.lockoutTries      wrong codes before the bank locks (0: the help does not give a number)
fun setting(name: String, default: String = ""): String = (findProperty(name) as String?)?.trim() ?: default
fun quoted(value: String): String = "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\""

android {
    namespace = "dev.softtoken.app"
    compileSdk = 35

    defaultConfig {
        applicationId = "dev.softtoken.app"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64") }
        buildConfigField("String", "BANK_NAME_EN", quoted(setting("softtoken.bankName.en")))
        buildConfigField("String", "BANK_NAME_JA", quoted(setting("softtoken.bankName.ja")))
        buildConfigField("String", "BRANCH_NAME_EN", quoted(setting("softtoken.branchName.en")))
        buildConfigField("String", "BRANCH_NAME_JA", quoted(setting("softtoken.branchName.ja")))
        buildConfigField("int", "LOCKOUT_TRIES", setting("softtoken.lockoutTries", "10").toInt().toString())
    }

    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
            val url = setting("softtoken.serviceUrl", "https://token.softtoken.invalid")
            require(url.startsWith("https://")) { "softtoken.serviceUrl must be an https:// URL for release builds, not $url" }
            buildConfigField("String", "SERVICE_URL", quoted(url))
            buildConfigField("boolean", "ALLOW_LOOPBACK_CLEARTEXT", "false")
        }
        debug {
            // Development builds may reach a service on this device's loopback over plain HTTP
            // (src/debug/res/xml/network_security_config.xml allows exactly that).
            buildConfigField("String", "SERVICE_URL", quoted(setting("softtoken.devServiceUrl", "http://127.0.0.1:8080")))
            buildConfigField("boolean", "ALLOW_LOOPBACK_CLEARTEXT", "true")
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    buildFeatures {
        compose = true
        buildConfig = true
    }
    sourceSets["main"].java.srcDir(layout.buildDirectory.dir("generated/uniffi/kotlin"))
}

// The Rust core for every ABI and its Kotlin bindings, before anything compiles.
val buildRust by tasks.registering(Exec::class) {
    description = "Cross-compiles softtoken-ffi with cargo-ndk and generates the Kotlin bindings"
    workingDir = rootProject.projectDir
    commandLine("bash", "build-rust.sh")
    inputs.dir(rootProject.file("../core/src"))
    inputs.dir(rootProject.file("../bindings/src"))
    outputs.dir(layout.projectDirectory.dir("src/main/jniLibs"))
    outputs.dir(layout.buildDirectory.dir("generated/uniffi/kotlin"))
}
tasks.named("preBuild") { dependsOn(buildRust) }

dependencies {
    implementation(libs.androidx.core.ktx)
    implementation(libs.androidx.activity.compose)
    implementation(libs.androidx.lifecycle.runtime.compose)
    implementation(libs.androidx.lifecycle.viewmodel.ktx)
    implementation(platform(libs.androidx.compose.bom))
    implementation(libs.androidx.compose.ui)
    implementation(libs.androidx.compose.material3)
    implementation(libs.androidx.compose.material.icons)
    implementation(libs.androidx.compose.ui.tooling.preview)
    // uniffi's Kotlin calls the Rust library through JNA; the AAR carries JNA's own native parts.
    implementation(libs.jna) { artifact { type = "aar" } }
    // QR scanning with the open-source ZXing (Apache 2.0).
    implementation(libs.zxing.embedded)
}
