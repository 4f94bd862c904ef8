// Scenario: the 4,900-seat stadium on a phone (390x844). The section overview comes in the
// layout's order with no seat drawn; choosing section A draws its 1,600 seats at 44 px (the page
// itself does not scroll sideways); held and sold seats are marked by pattern, not colour alone;
// the grid is one Tab stop and arrow keys move within it; a seat held live in section B (not
// drawn) lowers B's count and shows taken when B is opened; "best available 2" picks the pair
// nearest the stage and centre, and the hold button holds them. Then a small theatre on a desktop:
// every section drawn, in order, centred under the stage.
import { launch, watch, shot, step, call, main, baseUrl, args, axeCheck } from './lib.mjs';

const { eventId, smallEventId, fanToken, liveToken } = args;

function check(ok, what) { if (!ok) throw new Error(what); }

await main(async () => {
  const fan = await launch();
  await fan.context.addInitScript(([token]) => {
    sessionStorage.setItem('tiketi.token', token);
    sessionStorage.setItem('tiketi.user', JSON.stringify({ name: 'Stadium Fan', role: 'user' }));
    localStorage.setItem('tiketi.lang', 'en');
  }, [fanToken]);
  const page = fan.context.pages()[0] || await fan.context.newPage();
  watch(page, 'fan');
  await page.goto(`${baseUrl}/#/events/${eventId}/seats`);
  await page.locator('[data-testid=conn][data-state=connected]').waitFor();
  await page.getByTestId('section-A').waitFor();
  const order = await page.locator('.sm-block').evaluateAll((bs) => bs.map((b) => b.dataset.section));
  check(order.join() === 'FLOOR,A,B,C', `sections in the layout's order, got ${order}`);
  check(await page.locator('button.seat').count() === 0, 'no seat is drawn before a section is chosen');
  await page.getByTestId('section-A').filter({ hasText: '₩165,000' }).filter({ hasText: '1,594 left' }).waitFor();
  await shot(page, 'seatmap_stadium_overview');
  await axeCheck(page, 'seatmap_stadium_overview');
  step('overview in layout order');

  await page.getByTestId('section-A').click();
  const seatA = (label) => page.locator(`.sm-section[data-section=A] .seat[data-label="${label}"]`);
  await seatA('A-1-1').waitFor();
  check(await page.locator('button.seat').count() === 1600, 'only section A (1,600 seats) is drawn');
  const box = await seatA('A-1-1').boundingBox();
  check(box.width >= 44 && box.height >= 44, `a seat is a 44 px touch target, got ${box.width}x${box.height}`);
  check(await page.evaluate(() => document.documentElement.scrollWidth) <= 390, 'the page does not scroll sideways');
  // Held and sold: marked by status, pattern and state, not colour alone.
  await seatA('A-1-40').and(page.locator('[data-status=locked][aria-disabled=true]')).waitFor();
  await seatA('A-1-43').and(page.locator('[data-status=reserved][aria-disabled=true]')).waitFor();
  const patterns = await page.evaluate(() => ['A-1-40', 'A-1-43', 'A-1-1'].map((l) => getComputedStyle(document.querySelector(`.seat[data-label="${l}"]`)).backgroundImage));
  check(patterns[0] !== 'none' && patterns[1] !== 'none' && patterns[0] !== patterns[1] && patterns[2] === 'none', `held and sold seats carry distinct patterns: ${patterns}`);
  check(await page.locator('.legend [aria-pressed], .legend button').count() === 0, 'legend items are not buttons');
  step('section drawn at 44 px');

  // One Tab stop; arrow keys move within the grid.
  check(await page.locator('.sm-grid [tabindex="0"]').count() === 1, 'the grid is one Tab stop');
  await page.getByTestId('best').focus();
  await page.keyboard.press('Tab');
  const focused = () => page.evaluate(() => document.activeElement?.dataset?.label || document.activeElement?.tagName);
  check(await focused() === 'A-1-1', `Tab lands on the first free seat nearest the stage, got ${await focused()}`);
  const moves = [['ArrowRight', 'A-1-2'], ['ArrowDown', 'A-2-2'], ['ArrowLeft', 'A-2-1'], ['ArrowUp', 'A-1-1'], ['End', 'A-1-80']];
  for (const [key, want] of moves) {
    await page.keyboard.press(key);
    check(await focused() === want, `${key} moves to ${want}, got ${await focused()}`);
  }
  check(await page.locator('.sm-grid [tabindex="0"]').count() === 1, 'still one Tab stop after moving');
  await page.keyboard.press('Home');
  await page.keyboard.press('Enter');
  await page.getByTestId('selection').filter({ hasText: 'A-1-1' }).waitFor();
  await page.keyboard.press(' ');
  await page.getByTestId('selection').filter({ hasText: 'Choose a seat' }).waitFor();
  await page.keyboard.press('Tab');
  check(!(await focused() || '').startsWith('A-'), 'Tab leaves the grid at once');
  step('arrow keys');

  check(await page.getByTestId('best-n').inputValue() === '2', 'best available defaults to 2');
  await page.getByTestId('best').click();
  await page.getByTestId('selection').filter({ hasText: 'A-1-37, A-1-38' }).waitFor();
  await seatA('A-1-37').and(page.locator('[aria-pressed=true]')).waitFor();
  await seatA('A-1-38').and(page.locator('[aria-pressed=true]')).waitFor();
  // Scrolled sideways to the chosen seats, the row numbers stay on screen at both edges.
  const rowEdges = await page.evaluate(() => {
    const grid = document.querySelector('.sm-grid');
    document.querySelector('.seat[data-label="A-1-37"]').scrollIntoView({ block: 'nearest', inline: 'center' });
    const [first, last] = [...document.querySelectorAll('.sm-section[data-section=A] .seat-row')[0].querySelectorAll(':scope > .row-label')];
    const g = grid.getBoundingClientRect();
    const a = first.getBoundingClientRect();
    const b = last.getBoundingClientRect();
    return { scrolled: grid.scrollLeft, wide: grid.scrollWidth - grid.clientWidth, text: first.textContent, left: a.left - g.left, right: g.right - b.right, width: g.width };
  });
  check(rowEdges.scrolled > 100 && rowEdges.wide - rowEdges.scrolled > 100, `the grid is scrolled into the middle of the row: ${JSON.stringify(rowEdges)}`);
  check(rowEdges.text === '1' && Math.abs(rowEdges.left) <= 1 && rowEdges.right >= -1 && rowEdges.right <= 20, `row labels stick to the scroller's edges: ${JSON.stringify(rowEdges)}`);
  await shot(page, 'seatmap_stadium_best2');
  await axeCheck(page, 'seatmap_stadium_best2');
  step('best available 2');

  // Another fan holds B-1-40 while section A is shown: B's count drops at once.
  const map = await call('GET', `/api/seats/events/${eventId}`, liveToken);
  const b140 = map.seats.find((s) => s.seat_label === 'B-1-40');
  await call('POST', '/api/seats/reserve', liveToken, { eventId, seatIds: [b140.id] });
  await page.getByTestId('section-B').filter({ hasText: '1,599 left' }).waitFor();
  await page.getByTestId('section-B').click();
  await page.locator('.seat[data-label="B-1-40"][data-status=locked]').waitFor();
  check(await page.locator('.seat[data-label="B-1-40"]').isDisabled(), 'the seat held live cannot be picked');
  await page.getByTestId('selection').filter({ hasText: 'A-1-37, A-1-38' }).waitFor();
  step('live update of a section not drawn');

  await page.getByTestId('hold').click();
  await page.waitForURL(/#\/pay\//);
  await page.getByTestId('hold-left').waitFor();
  step('held');
  await fan.close();

  // A small theatre on a desktop: every section drawn, in order, centred under the stage.
  const desk = await launch();
  await desk.context.addInitScript(([token]) => {
    sessionStorage.setItem('tiketi.token', token);
    sessionStorage.setItem('tiketi.user', JSON.stringify({ name: 'Stadium Fan', role: 'user' }));
    localStorage.setItem('tiketi.lang', 'en');
  }, [fanToken]);
  const dp = desk.context.pages()[0] || await desk.context.newPage();
  watch(dp, 'desktop');
  await dp.setViewportSize({ width: 1280, height: 800 });
  await dp.goto(`${baseUrl}/#/events/${smallEventId}/seats`);
  await dp.locator('.seat[data-label="R-15-20"]').waitFor();
  await dp.locator('[data-testid=conn][data-state=connected]').waitFor();
  const drawn = await dp.locator('.sm-section').evaluateAll((ss) => ss.map((s) => s.dataset.section));
  check(drawn.join() === 'VIP,R', `every section drawn in order, got ${drawn}`);
  const centre = (b) => b.x + b.width / 2;
  const stage = await dp.locator('.stage').boundingBox();
  const vip = await dp.locator('.sm-section[data-section=VIP] .sm-rows').boundingBox();
  check(Math.abs(centre(stage) - centre(vip)) < 4, `the map is centred under the stage (${centre(stage)} vs ${centre(vip)})`);
  await shot(dp, 'seatmap_small_desktop');
  await axeCheck(dp, 'seatmap_small_desktop');
  step('desktop small venue');
  await desk.close();
});
