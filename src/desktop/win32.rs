//! The few Windows calls the standard library and tokio do not wrap: the
//! control pipe's owner-only access list, and the console of a GUI-subsystem
//! program started from a terminal. The only `unsafe` in the crate, each
//! block small and commented.
#![expect(unsafe_code, reason = "Win32 calls without a safe wrapper")]

use tokio::net::windows::named_pipe::{NamedPipeServer, ServerOptions};
use windows_sys::Win32::Foundation::{HLOCAL, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES};

/// A protected DACL with one entry: generic-all for the object's owner
/// ("OW", the user who created the pipe). Nobody else — other users,
/// Everyone, anonymous — is granted anything, so they cannot open it.
const OWNER_ONLY: &str = "D:P(A;;GA;;;OW)";

/// Makes a pipe instance that only its owner can open.
pub fn create_owner_only_pipe(
    options: &ServerOptions,
    name: &str,
) -> std::io::Result<NamedPipeServer> {
    let sddl: Vec<u16> = OWNER_ONLY
        .encode_utf16()
        .chain(std::iter::once(0))
        .collect();
    let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: `sddl` is a NUL-terminated UTF-16 string that outlives the
    // call; `descriptor` receives a buffer Windows allocates (freed below).
    let converted = unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl.as_ptr(),
            SDDL_REVISION_1,
            &mut descriptor,
            std::ptr::null_mut(),
        )
    };
    if converted == 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut attributes = SECURITY_ATTRIBUTES {
        nLength: u32::try_from(std::mem::size_of::<SECURITY_ATTRIBUTES>()).unwrap_or(u32::MAX),
        lpSecurityDescriptor: descriptor,
        bInheritHandle: 0,
    };
    // SAFETY: `attributes` is a valid SECURITY_ATTRIBUTES whose descriptor
    // stays alive until after the call (CreateNamedPipeW copies it).
    let created =
        unsafe { options.create_with_security_attributes_raw(name, (&raw mut attributes).cast()) };
    // SAFETY: `descriptor` was allocated by the conversion above, with
    // LocalAlloc, and is not used after this.
    unsafe { LocalFree(descriptor as HLOCAL) };
    created
}

/// A GUI-subsystem program has no console: when started from a terminal
/// (`switchyard serve`, `accounts list`), print to that terminal. Output
/// already redirected (to a file or a pipe) is left as it is.
pub fn attach_parent_console() {
    use windows_sys::Win32::System::Console::{
        ATTACH_PARENT_PROCESS, AttachConsole, GetStdHandle, STD_OUTPUT_HANDLE,
    };
    // SAFETY: plain calls with constant arguments; a null handle means
    // "none".
    unsafe {
        if GetStdHandle(STD_OUTPUT_HANDLE).is_null() {
            AttachConsole(ATTACH_PARENT_PROCESS);
        }
    }
}
