// Scenario (c): with Google sign-in configured, the sign-in page shows the Google button; the
// code flow (PKCE, through a stand-in Google) ends back on the page the fan asked for, signed in
// by the refresh cookie the callback set.
import { launch, watch, shot, step, main, baseUrl, axeCheck } from './lib.mjs';

await main(async () => {
  const b = await launch();
  const page = b.context.pages()[0] || await b.context.newPage();
  watch(page, 'google');
  await page.goto(`${baseUrl}/#/login?next=%2Fme`);
  await page.getByTestId('lang').click();
  const button = page.getByRole('link', { name: 'Continue with Google' });
  await button.waitFor();
  await shot(page, 'fan-00-sign-in-with-google');
  await axeCheck(page, 'sign-in with Google');
  step('google button shown');
  await button.click();
  await page.waitForURL(/#\/me$/);
  await page.getByRole('heading', { name: 'My tickets' }).waitFor();
  await page.getByText('No reservations yet.').waitFor();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await axeCheck(page, 'my page, no reservations');
  step('signed in with google');
  await b.close();
});
