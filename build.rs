//! Build script: on Windows targets, embeds the icon, the manifest
//! (packaging/windows/switchyard.exe.manifest) and the version information
//! in switchyard.exe. Nothing for other targets.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=packaging/windows/switchyard.ico");
    println!("cargo:rerun-if-changed=packaging/windows/switchyard.exe.manifest");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    let mut resource = winresource::WindowsResource::new();
    resource
        .set_icon("packaging/windows/switchyard.ico")
        .set_manifest_file("packaging/windows/switchyard.exe.manifest")
        .set("FileDescription", "Switchyard, a local AI gateway")
        .set("ProductName", "Switchyard");
    if let Err(error) = resource.compile() {
        // A missing resource compiler would leave the exe without its
        // icon: say so and stop.
        panic!("cannot embed the Windows resources: {error}");
    }
}
