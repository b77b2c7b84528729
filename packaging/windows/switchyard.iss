; Inno Setup 6 script for the Switchyard installer (Windows 10/11, x64).
; NOT built or run in this project's CI: see README.md here for how to build it
; and what is unverified.
;
; The version is never written here: pass the one Cargo.toml has, e.g.
;   $v = (cargo metadata --no-deps --format-version 1 | ConvertFrom-Json).packages[0].version
;   iscc /DAppVersion=$v packaging\windows\switchyard.iss
; Paths below are relative to this file.

#ifndef AppVersion
  #error Pass the version from Cargo.toml: iscc /DAppVersion=X.Y.Z switchyard.iss (see README.md)
#endif
#ifndef Binary
  #define Binary "..\..\target\x86_64-pc-windows-msvc\release\switchyard.exe"
#endif

[Setup]
; AppId identifies the installation for upgrades and uninstall: never change it.
AppId={{7F78BD3A-04E2-4A07-8CDF-9CD002511095}
AppName=Switchyard
AppVersion={#AppVersion}
AppVerName=Switchyard {#AppVersion}
AppPublisher=The Switchyard authors
AppComments=A local AI gateway in the menu bar
VersionInfoVersion={#AppVersion}
; Per-user by default (no UAC prompt, into %LOCALAPPDATA%\Programs); the
; dialog also offers "install for all users", which asks for admin rights.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog commandline
DefaultDirName={autopf}\Switchyard
DisableProgramGroupPage=yes
UsedUserAreasWarning=no
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
LicenseFile=..\..\LICENSE
SetupIconFile=switchyard.ico
UninstallDisplayIcon={app}\switchyard.exe
UninstallDisplayName=Switchyard
WizardStyle=modern
Compression=lzma2/max
SolidCompression=yes
OutputDir=..\..\target\package
OutputBaseFilename=switchyard-{#AppVersion}-windows-x64-setup
; An upgrade or uninstall closes a running Switchyard first (Restart Manager).
CloseApplications=yes
RestartApplications=no

[Tasks]
; Only for a per-user install: an all-users (admin) install must not write one
; user's settings; there each user turns it on in the app (tray › Launch at login).
Name: "autostart"; Description: "Launch Switchyard at login (in the tray, without its window)"; Flags: unchecked; Check: not IsAdminInstallMode
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#Binary}"; DestDir: "{app}"; Flags: ignoreversion
Source: "..\..\LICENSE"; DestDir: "{app}"; DestName: "LICENSE.txt"; Flags: ignoreversion

[Icons]
Name: "{autoprograms}\Switchyard"; Filename: "{app}\switchyard.exe"; Comment: "Local AI gateway"
Name: "{autodesktop}\Switchyard"; Filename: "{app}\switchyard.exe"; Tasks: desktopicon

[Registry]
; The same login item the app's own "Launch at login" switch writes (value
; "Switchyard" under HKCU ...\Run, started with --hidden), so the switch shows
; it as on. Quoted, so a path with spaces works.
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; \
  ValueName: "Switchyard"; ValueData: """{app}\switchyard.exe"" --hidden"; \
  Tasks: autostart; Flags: uninsdeletevalue

[Run]
Filename: "{app}\switchyard.exe"; Description: "Start Switchyard"; Flags: nowait postinstall skipifsilent

[UninstallRun]
; Stop the running app (resident process and window) of the user uninstalling,
; so its files can be deleted. SQLite's WAL makes a hard stop safe.
Filename: "{sys}\taskkill.exe"; Parameters: "/F /T /FI ""USERNAME eq {username}"" /IM switchyard.exe"; \
  Flags: runhidden; RunOnceId: "StopSwitchyard"

[Code]
const
  RunKey = 'Software\Microsoft\Windows\CurrentVersion\Run';
  ApprovedKey = 'Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run';

{ The login item, whoever wrote it (this installer's task, or the app's own
  switch, which also records it under StartupApproved, and uses HKLM when the
  app ran elevated): it would start a program that is gone. }
procedure RemoveLoginItem;
begin
  RegDeleteValue(HKEY_CURRENT_USER, RunKey, 'Switchyard');
  RegDeleteValue(HKEY_CURRENT_USER, ApprovedKey, 'Switchyard');
  if IsAdminInstallMode then
  begin
    RegDeleteValue(HKEY_LOCAL_MACHINE, RunKey, 'Switchyard');
    RegDeleteValue(HKEY_LOCAL_MACHINE, ApprovedKey, 'Switchyard');
  end;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  Data: String;
begin
  if CurUninstallStep = usUninstall then
    RemoveLoginItem;
  { Settings, accounts and the request log stay unless the user says so
    (the default button is No; a silent uninstall keeps them). }
  if CurUninstallStep = usPostUninstall then
  begin
    Data := ExpandConstant('{userappdata}\switchyard');
    if DirExists(Data) and not UninstallSilent then
      if MsgBox('Also delete your Switchyard settings, accounts (with their refresh tokens) and request log?' + #13#10#13#10 +
                Data + #13#10#13#10 + 'Choose No to keep them for a later install.',
                mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES then
        DelTree(Data, True, True, True);
  end;
end;
