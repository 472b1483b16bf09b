/**
 * How every browser test starts Debian's Chromium (installed by .ci/run): headless, as root
 * (no sandbox), and quiet on a machine without internet (no background networking).
 */
export const CHROMIUM_LAUNCH = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
  ],
}
