plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
    alias(libs.plugins.kotlin.compose)
}

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
    }

    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    buildFeatures { compose = true }
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
