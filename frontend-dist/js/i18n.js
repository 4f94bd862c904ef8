// Korean and English text. `t(key, vars)` picks the current language (saved in localStorage,
// Korean by default); `{name}` placeholders are filled from `vars`. Switching re-renders the page.

const dict = {
  ko: {
    brand_tag: '공연 예매', home: '홈', search: '검색', search_ph: '공연, 아티스트, 장소 검색', my: '내 예매', admin: '관리자',
    sign_in: '로그인', sign_out: '로그아웃', register: '회원가입', email: '이메일', password: '비밀번호', name: '이름', phone: '전화번호 (선택)',
    google: 'Google로 계속하기', no_account: '계정이 없으신가요?', have_account: '이미 계정이 있으신가요?', password_hint: '8자 이상', check_email: '메일함을 확인하세요: 보내 드린 링크를 열면 가입이 끝나고, 그다음 로그인할 수 있습니다.', email_verified_ok: '이메일 주소가 확인되었습니다. 로그인하세요.', email_verified_bad: '이 링크는 유효하지 않거나 만료되었거나 이미 사용되었습니다.', confirm_email: '이메일 주소 확인', confirm_email_text: '이 주소로 Tiketi 계정을 만든 분이 본인이라면 아래 버튼을 누르세요. 본인이 아니라면 이 페이지를 닫으세요.',
    on_sale: '예매 중', upcoming: '오픈 예정', sold_out: '매진', ended: '종료', cancelled: '취소됨', all: '전체',
    opens_in: '오픈까지 {t}', closes_in: '마감까지 {t}', no_events: '공연이 없습니다.', loading: '불러오는 중…',
    from_price: '{p}부터', venue: '장소', date: '공연일', sale: '예매 기간', artist: '아티스트', book: '예매하기', not_on_sale: '지금은 예매할 수 없습니다.',
    ticket_types: '좌석 등급', back: '뒤로',
    waiting_room: '대기실', position: '내 순서', ahead: '내 앞에 {n}명', queue_size: '대기 인원 {n}명', est_wait: '예상 대기 시간: {t}', leave_queue: '대기열 나가기',
    admitted: '입장했습니다! 좌석 선택으로 이동합니다.', keep_open: '이 창을 닫지 마세요. 새로고침해도 순서는 유지됩니다.', queue_paused: '입장이 잠시 멈춰 있습니다.',
    connected: '실시간 연결됨', connecting: '연결 중…', disconnected: '연결 끊김 · 재연결 중', queue_cleared: '대기열이 운영자에 의해 초기화되었습니다.',
    seat_select: '좌석 선택', selected: '선택한 좌석', total: '합계', hold: '좌석 선점하기', max_seats: '최대 {n}석까지 선택할 수 있습니다.',
    available: '선택 가능', locked: '선점됨', reserved: '판매됨', mine: '내 선택', seat_taken: '다른 분이 방금 선택한 좌석입니다.', pick_seat: '좌석을 선택하세요.',
    hold_left: '남은 시간 {t}', hold_expired: '선점 시간이 만료되었습니다.', payment: '결제', method: '결제 수단', pay: '{p} 결제하기',
    card: '신용카드', naver_pay: '네이버페이', kakao_pay: '카카오페이', bank_transfer: '계좌이체', sandbox_decline: '거절 테스트 (sandbox)',
    sandbox_note: '샌드박스 결제입니다. 실제로 청구되지 않습니다.', paid: '결제가 완료되었습니다', pay_failed: '결제에 실패했습니다',
    toss_loading: '토스페이먼츠 결제창을 불러오는 중…', toss_load_failed: '토스페이먼츠 결제창을 불러오지 못했습니다. 잠시 후 다시 시도하세요.',
    toss_unconfigured: '이 서버에는 결제 수단이 설정되어 있지 않습니다.', to_toss: '토스페이먼츠로 이동합니다…', toss_cancelled: '결제를 취소했습니다. 다시 시도할 수 있습니다.',
    confirming: '결제를 확인하는 중…', bad_return: '결제 결과를 읽을 수 없습니다. 다시 시도하세요.',
    reservation_no: '예매번호', view_tickets: '내 예매 보기', try_again: '다시 시도', seats: '좌석', amount: '금액', status: '상태',
    confirmed: '예매 확정', pending: '결제 대기', expired: '만료됨', refunded: '환불됨', completed: '결제 완료', failed: '결제 실패',
    cancel_res: '예매 취소', cancel_refund: '취소 및 환불', confirm_cancel: '이 예매를 취소할까요? 결제된 금액은 환불됩니다.', refund_done: '환불되었습니다: {p}',
    cancelled_ok: '예매가 취소되었습니다.', no_reservations: '예매 내역이 없습니다.', qr_label: '입장 QR 코드', continue_pay: '결제 계속하기',
    pay_checking: '결제 결과를 확인하는 중입니다', pay_in_doubt: '다시 결제하지 마세요. 결과는 곧 내 예매에 표시됩니다.', check_reservation: '예매 상태 확인',
    awaiting_deposit: '입금을 기다리고 있습니다', deposit_note: '아래 가상계좌로 기한 안에 입금하면 예매가 확정됩니다. 기한이 지나면 좌석이 풀리고 늦은 입금은 환불됩니다.',
    deposit_bank: '은행', deposit_account: '계좌번호', deposit_holder: '예금주', deposit_due: '입금 기한 (좌석 유지)',
    dashboard: '대시보드', events: '공연', reservations: '예매', queue: '대기열', stats: '통계',
    total_events: '전체 공연', total_res: '전체 예매', revenue: '매출', today_res: '오늘 예매', recent: '최근 예매', booked_on: '예매일',
    new_event: '새 공연', edit: '수정', save: '저장', create: '만들기', title: '제목', description: '설명', address: '주소',
    event_date: '공연 일시', sale_start: '예매 시작', sale_end: '예매 종료', poster: '포스터 이미지', layout: '좌석 배치', none: '없음',
    upload: '업로드', upload_missing: '이 서버에는 이미지 업로드가 아직 없습니다. 포스터 URL을 직접 입력하세요.', poster_url: '포스터 URL',
    cancel_event: '공연 취소', confirm_cancel_event: '공연을 취소할까요? 결제된 예매는 환불됩니다.', saved: '저장되었습니다.', created: '만들었습니다.',
    threshold: '동시 입장 인원', admit_per_tick: '틱당 입장', tick_ms: '틱 간격(ms)', pause: '일시정지', resume: '재개', clear: '초기화',
    confirm_clear: '대기열을 초기화할까요?', paused_ok: '입장을 일시정지했습니다. 대기열 참여는 계속됩니다.', resumed_ok: '입장을 재개했습니다.',
    cleared_ok: '대기열을 초기화했습니다 (대기 {w}명, 입장 {a}명).', event_cancelled_ok: '공연을 취소했습니다. 환불된 예매 {n}건.',
    event_cancelled_owed: '공연을 취소했습니다. 환불하지 못한 예매 {n}건: 다시 취소하면 재시도합니다.', rejoin: '대기열 다시 참여', left_queue: '대기열에서 나왔습니다.', waiting: '대기 중', active: '입장 중', free_slots: '빈 자리', paused: '일시정지됨', running: '운영 중',
    admitted_min: '최근 1분 입장', enabled: '대기열 사용', choose_event: '공연 선택', overview: '개요', users: '회원', active_events: '판매 중 공연',
    confirmed_res: '확정 예매', payments: '결제', unavailable_stat: '이 통계는 아직 서버에 없습니다.', sales_chart: '매출과 예매', queue_chart: '대기열 현황',
    page: '{p} / {n} 페이지', prev: '이전', next: '다음', forbidden: '관리자만 볼 수 있습니다.', not_found: '페이지를 찾을 수 없습니다.',
    network: '서버에 연결할 수 없습니다.', offline: '오프라인 상태입니다.', signin_needed: '로그인이 필요합니다.', lang: 'English',
    days: '{d}일 {h}:{m}:{s}', seconds: '{n}초', minutes: '약 {n}분', welcome: '{name}님 환영합니다',

    // --- sale
    sale_clock_admission: '쇼핑 남은 시간', sale_clock_warn_admission: '쇼핑 시간이 1분 남았습니다. 좌석을 선점하고 결제로 넘어가세요.',
    sale_clock_admission_over: '쇼핑 시간이 끝났습니다. 선점된 좌석은 없습니다. 대기열에 다시 참여하세요.',
    sale_clock_hold: '결제 남은 시간', sale_clock_warn_hold: '결제 시간이 1분 남았습니다.', sale_hold_over: '선점 시간이 끝나 좌석이 풀렸습니다. 좌석을 다시 선택하세요.',
    sale_back_to_event: '공연 페이지로', sale_choose_again: '좌석 다시 선택', sale_prices_by_section: '구역별 가격', sale_section: '{s}구역',
    sale_now_open: '예매가 시작되었습니다. 지금 예매할 수 있습니다.', sale_wait_early: '오픈 대기열 들어가기',
    sale_wait_early_note: '미리 들어와도 오픈 전에는 아무도 입장하지 않습니다.', sale_opens_at: '예매 오픈: {at}',
    sale_in_line_at: '대기열 {n}번째입니다.', sale_in_line: '대기열에 있습니다.', sale_back_to_line: '대기열로 돌아가기',
    sale_your_turn: '입장한 상태입니다.', sale_back_to_seats: '좌석 선택으로 돌아가기',
    sale_paused: '운영자가 입장을 잠시 멈췄습니다. 순서는 그대로 유지됩니다.', sale_eta_paused: '예상 대기 시간: 입장이 멈춘 동안 계산하지 않습니다',
    sale_presale_title: '아직 예매 오픈 전입니다', sale_presale_fifo: '오픈 시각이 되면 도착한 순서대로 입장합니다. 이 창을 열어 두세요.',
    sale_presale_draw: '오픈 시각이 되면 오픈 전에 들어온 모든 분의 순서를 무작위 추첨으로 정합니다. 일찍 들어와도 유리하지 않습니다.',
    sale_in_draw: '오픈 시 추첨으로 순서가 정해집니다', sale_operator_says: '운영자 안내:', sale_now_at: '지금 {n}번째입니다.',
    sale_shopping_limit: '입장 후 쇼핑 시간: {t}', sale_on_admission: '차례가 되면 좌석 선택 화면으로 이동하고, {t} 안에 좌석을 고르고 결제해야 합니다.',
    sale_confirm_leave_at: '대기열을 나갈까요? 지금 {n}번째 순서가 사라지고, 다시 들어오면 맨 뒤에 섭니다.', sale_confirm_leave: '대기열을 나갈까요? 다시 들어오면 맨 뒤에 섭니다.',
    sale_your_hold: '내가 선점한 좌석', sale_release_hold: '선점 취소하고 다시 고르기', sale_hold_released: '선점을 취소했습니다. 좌석을 다시 고르세요.',
    sale_minutes: '{n}분',
  },
  en: {
    brand_tag: 'Tickets', home: 'Home', search: 'Search', search_ph: 'Search events, artists, venues', my: 'My tickets', admin: 'Admin',
    sign_in: 'Sign in', sign_out: 'Sign out', register: 'Register', email: 'Email', password: 'Password', name: 'Name', phone: 'Phone (optional)',
    google: 'Continue with Google', no_account: 'No account yet?', have_account: 'Already registered?', password_hint: 'At least 8 characters', check_email: 'Check your email: open the link we sent to finish registering, then sign in.', email_verified_ok: 'Your email address is confirmed. Sign in to continue.', email_verified_bad: 'This link is invalid, expired or already used.', confirm_email: 'Confirm your email address', confirm_email_text: 'If you created a Tiketi account with this address, press the button. If you did not, close this page.',
    on_sale: 'On sale', upcoming: 'Upcoming', sold_out: 'Sold out', ended: 'Ended', cancelled: 'Cancelled', all: 'All',
    opens_in: 'Opens in {t}', closes_in: 'Closes in {t}', no_events: 'No events.', loading: 'Loading…',
    from_price: 'From {p}', venue: 'Venue', date: 'Date', sale: 'On sale', artist: 'Artist', book: 'Book tickets', not_on_sale: 'Not on sale right now.',
    ticket_types: 'Ticket types', back: 'Back',
    waiting_room: 'Waiting room', position: 'Your place', ahead: '{n} ahead of you', queue_size: '{n} waiting', est_wait: 'Estimated wait: {t}', leave_queue: 'Leave the queue',
    admitted: "You're in! Taking you to the seats.", keep_open: 'Keep this page open. Refreshing keeps your place.', queue_paused: 'Admissions are paused for a moment.',
    connected: 'Live', connecting: 'Connecting…', disconnected: 'Disconnected · reconnecting', queue_cleared: 'The queue was cleared by an operator.',
    seat_select: 'Choose seats', selected: 'Selected', total: 'Total', hold: 'Hold these seats', max_seats: 'You can choose up to {n} seats.',
    available: 'Available', locked: 'Held', reserved: 'Sold', mine: 'Yours', seat_taken: 'Someone just took that seat.', pick_seat: 'Choose a seat.',
    hold_left: '{t} left', hold_expired: 'Your hold has expired.', payment: 'Payment', method: 'Payment method', pay: 'Pay {p}',
    card: 'Card', naver_pay: 'Naver Pay', kakao_pay: 'Kakao Pay', bank_transfer: 'Bank transfer', sandbox_decline: 'Decline test (sandbox)',
    sandbox_note: 'Sandbox payment: nothing is charged.', paid: 'Payment complete', pay_failed: 'Payment failed',
    toss_loading: 'Loading the TossPayments checkout…', toss_load_failed: 'The TossPayments checkout did not load. Please try again in a moment.',
    toss_unconfigured: 'No payment method is set up on this server.', to_toss: 'Opening TossPayments…', toss_cancelled: 'You cancelled the payment; you can try again.',
    confirming: 'Confirming your payment…', bad_return: 'The payment result could not be read. Please try again.',
    reservation_no: 'Reservation', view_tickets: 'See my tickets', try_again: 'Try again', seats: 'Seats', amount: 'Amount', status: 'Status',
    confirmed: 'Confirmed', pending: 'Awaiting payment', expired: 'Expired', refunded: 'Refunded', completed: 'Paid', failed: 'Payment failed',
    cancel_res: 'Cancel', cancel_refund: 'Cancel and refund', confirm_cancel: 'Cancel this reservation? Any payment is refunded.', refund_done: 'Refunded: {p}',
    cancelled_ok: 'Reservation cancelled.', no_reservations: 'No reservations yet.', qr_label: 'Entry QR code', continue_pay: 'Continue to payment',
    pay_checking: 'Checking your payment', pay_in_doubt: 'Do not pay again: the outcome shows in your reservations shortly.', check_reservation: 'Check my reservation',
    awaiting_deposit: 'Waiting for your deposit', deposit_note: 'Transfer the amount to this virtual account before the deadline to confirm your booking. After it the seats are released and a late deposit is refunded.',
    deposit_bank: 'Bank', deposit_account: 'Account number', deposit_holder: 'Account holder', deposit_due: 'Pay by (seats held until)',
    dashboard: 'Dashboard', events: 'Events', reservations: 'Reservations', queue: 'Queue', stats: 'Statistics',
    total_events: 'Events', total_res: 'Reservations', revenue: 'Revenue', today_res: 'Today', recent: 'Recent reservations', booked_on: 'Booked on',
    new_event: 'New event', edit: 'Edit', save: 'Save', create: 'Create', title: 'Title', description: 'Description', address: 'Address',
    event_date: 'Event date', sale_start: 'Sale starts', sale_end: 'Sale ends', poster: 'Poster image', layout: 'Seat layout', none: 'None',
    upload: 'Upload', upload_missing: 'This server has no image upload yet. Enter a poster URL instead.', poster_url: 'Poster URL',
    cancel_event: 'Cancel event', confirm_cancel_event: 'Cancel this event? Paid reservations are refunded.', saved: 'Saved.', created: 'Created.',
    threshold: 'Fans shopping at once', admit_per_tick: 'Admit per tick', tick_ms: 'Tick (ms)', pause: 'Pause', resume: 'Resume', clear: 'Clear',
    confirm_clear: 'Clear this queue?', paused_ok: 'Admissions paused; fans can still join the queue.', resumed_ok: 'Admissions resumed.',
    cleared_ok: 'Queue cleared ({w} waiting, {a} shopping removed).', event_cancelled_ok: 'Event cancelled; {n} paid reservations refunded.',
    event_cancelled_owed: 'Event cancelled, but {n} refunds failed: cancel again to retry them.', rejoin: 'Join the queue again', left_queue: 'You left the queue.', waiting: 'Waiting', active: 'Shopping', free_slots: 'Free slots', paused: 'Paused', running: 'Running',
    admitted_min: 'Admitted last minute', enabled: 'Queue on', choose_event: 'Choose an event', overview: 'Overview', users: 'Users', active_events: 'Events on sale',
    confirmed_res: 'Confirmed', payments: 'Payments', unavailable_stat: 'This statistic is not on the server yet.', sales_chart: 'Revenue and reservations', queue_chart: 'Queues',
    page: 'Page {p} of {n}', prev: 'Previous', next: 'Next', forbidden: 'Operators only.', not_found: 'Page not found.',
    network: 'Cannot reach the server.', offline: 'You are offline.', signin_needed: 'Please sign in.', lang: '한국어',
    days: '{d}d {h}:{m}:{s}', seconds: '{n} s', minutes: 'about {n} min', welcome: 'Welcome, {name}',

    // --- sale
    sale_clock_admission: 'Shopping time left', sale_clock_warn_admission: 'One minute of shopping time left: hold your seats and go to payment.',
    sale_clock_admission_over: 'Your shopping time is over. Nothing is held for you. Join the queue again.',
    sale_clock_hold: 'Time left to pay', sale_clock_warn_hold: 'One minute left to pay.', sale_hold_over: 'Your hold ran out and the seats were released. Choose seats again.',
    sale_back_to_event: 'Back to the event', sale_choose_again: 'Choose seats again', sale_prices_by_section: 'Prices by section', sale_section: 'Section {s}',
    sale_now_open: 'The sale is open: you can book now.', sale_wait_early: 'Wait in line for the opening',
    sale_wait_early_note: 'Nobody is let in before the opening, even if they come early.', sale_opens_at: 'Sale opens {at}',
    sale_in_line_at: 'You are #{n} in line.', sale_in_line: 'You are in line.', sale_back_to_line: 'Back to the line',
    sale_your_turn: 'You are in.', sale_back_to_seats: 'Back to choosing seats',
    sale_paused: 'An operator paused admissions for a moment. You keep your place.', sale_eta_paused: 'Estimated wait: on hold while admissions are paused',
    sale_presale_title: 'The sale has not opened yet', sale_presale_fifo: 'At the opening, fans are let in in the order they arrived. Keep this page open.',
    sale_presale_draw: 'At the opening, everyone who arrived before it is put in line by a random draw: arriving earlier gives no advantage.',
    sale_in_draw: 'Your place is drawn at the opening', sale_operator_says: 'From the organiser:', sale_now_at: 'You are now #{n}.',
    sale_shopping_limit: 'Shopping time once in: {t}', sale_on_admission: 'When it is your turn you go to the seat map and have {t} to choose seats and pay.',
    sale_confirm_leave_at: 'Leave the queue? You lose your place (#{n}); joining again puts you at the back.', sale_confirm_leave: 'Leave the queue? Joining again puts you at the back.',
    sale_your_hold: 'Your held seats', sale_release_hold: 'Release and choose again', sale_hold_released: 'Your hold was released. Choose seats again.',
    sale_minutes: '{n} min',
  },
};

let lang = localStorage.getItem('tiketi.lang') || 'ko';
export const getLang = () => lang;
export function setLang(l) {
  lang = l;
  localStorage.setItem('tiketi.lang', l);
  document.documentElement.lang = l;
}
document.documentElement.lang = lang;

/** The text for `key` in the current language with `{vars}` filled in. */
export function t(key, vars = {}) {
  const s = dict[lang][key] ?? dict.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ''));
}

/** Error text: network failures get a sentence of ours, everything else the server's words. */
export function errText(e) {
  if (!e) return '';
  if (e.code === 'network') return t(e.message === 'offline' ? 'offline' : 'network');
  return typeof e.message === 'string' && e.message ? e.message : String(e);
}

const locale = () => (lang === 'ko' ? 'ko-KR' : 'en-GB');
export const won = (n) => (n == null ? '' : lang === 'ko' ? `${Number(n).toLocaleString('ko-KR')}원` : `₩${Number(n).toLocaleString('en-GB')}`);
export const when = (iso) => (iso ? new Date(iso).toLocaleString(locale(), { dateStyle: 'medium', timeStyle: 'short' }) : '');
export const toInputDate = (iso) => {
  if (!iso) return '';
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
};

/** A duration in ms as "1d 02:03:04" or "02:03". */
export function span(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const p = (n) => String(n).padStart(2, '0');
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (d > 0) return t('days', { d, h: p(h), m: p(m), s: p(sec) });
  return h > 0 ? `${h}:${p(m)}:${p(sec)}` : `${p(m)}:${p(sec)}`;
}

/** A wait in seconds in words. */
export function waitText(sec) {
  if (sec == null) return '';
  return sec < 60 ? t('seconds', { n: Math.max(1, Math.round(sec)) }) : t('minutes', { n: Math.round(sec / 60) });
}
