// Korean and English text. `t(key, vars)` picks the current language (saved in localStorage,
// Korean by default); `{name}` placeholders are filled from `vars`. Switching re-renders the page
// (app.js keeps the form inputs and the seat selection across it).

const dict = {
  ko: {
    brand_tag: '공연 예매', home: '홈', search: '검색', search_ph: '공연, 아티스트, 장소 검색', my: '내 예매', admin: '관리자',
    sign_in: '로그인', sign_out: '로그아웃', register: '회원가입', email: '이메일', password: '비밀번호', name: '이름', phone: '전화번호 (선택)',
    google: 'Google로 계속하기', no_account: '계정이 없으신가요?', have_account: '이미 계정이 있으신가요?', password_hint: '8자 이상', check_email: '메일함을 확인하세요: 보내 드린 링크를 열면 가입이 끝나고, 그다음 로그인할 수 있습니다.', email_verified_ok: '이메일 주소가 확인되었습니다. 로그인하세요.', email_verified_bad: '이 링크는 유효하지 않거나 만료되었거나 이미 사용되었습니다.', confirm_email: '이메일 주소 확인', confirm_email_text: '이 주소로 Tiketi 계정을 만든 분이 본인이라면 아래 버튼을 누르세요. 본인이 아니라면 이 페이지를 닫으세요.',
    on_sale: '예매 중', upcoming: '오픈 예정', sold_out: '매진', ended: '종료', cancelled: '취소됨', all: '전체',
    opens_in: '오픈까지 {t}', closes_in: '마감까지 {t}', no_events: '공연이 없습니다.', loading: '불러오는 중…',
    from_price: '{p}부터', venue: '장소', date: '공연일', sale: '예매 기간', artist: '아티스트', book: '예매하기', not_on_sale: '지금은 예매할 수 없습니다.',
    ticket_types: '티켓 종류', ev_tickets: '티켓 종류', c_poster_placeholder: 'https://… 또는 /api/image/files/…', back: '뒤로',
    waiting_room: '대기실', position: '내 순서', ahead: '내 앞에 {n}명', queue_size: '대기 인원 {n}명', est_wait: '예상 대기 시간: {t}', leave_queue: '대기열 나가기',
    admitted: '입장했습니다! 좌석 선택으로 이동합니다.', keep_open: '이 창을 닫지 마세요. 새로고침해도 순서는 유지됩니다.', queue_paused: '입장이 잠시 멈춰 있습니다.',
    connected: '실시간 연결됨', connecting: '연결 중…', disconnected: '연결 끊김 · 재연결 중', queue_cleared: '대기열이 운영자에 의해 초기화되었습니다.',
    seat_select: '좌석 선택', selected: '선택한 좌석', total: '합계', hold: '좌석 선점하기', max_seats: '최대 {n}석까지 선택할 수 있습니다.',
    available: '선택 가능', locked: '선점됨', reserved: '판매됨', mine: '내 선택', seat_taken: '다른 분이 방금 선택한 좌석입니다.', seat_taken_here: '방금 다른 분이 선택함', seat_taken_at: '{label} 좌석을 다른 분이 방금 선택했습니다. 다른 좌석을 고르세요.', pick_seat: '좌석을 선택하세요.',
    hold_left: '남은 시간 {t}', hold_expired: '선점 시간이 만료되었습니다.', payment: '결제', method: '결제 수단', pay: '{p} 결제하기',
    card: '신용카드', naver_pay: '네이버페이', kakao_pay: '카카오페이', bank_transfer: '계좌이체', sandbox_decline: '결제 거절 테스트 (모의 결제)',
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
    // --- seatmap
    sm_stage: '무대', sm_overview: '구역', sm_section: '{name}구역', sm_left: '잔여 {n}석', sm_seats: '좌석',
    sm_seat: '{section}구역 {row}열 좌석 {n}, {status}', sm_legend: '좌석 상태',
    sm_keys: '방향키로 좌석 사이를 이동하고 Enter 또는 Space로 선택합니다.', sm_choose_section: '위에서 구역을 고르면 그 구역의 좌석이 보입니다.',
    sm_best_n: '매수', sm_best: '{name}구역 최적 좌석 고르기', sm_best_none: '이 구역에 남은 좌석이 {n}석뿐입니다. 다른 구역을 고르세요.',
    sm_best_ok: '붙어 있는 최적 좌석 {n}석을 골랐습니다.', sm_best_apart: '이 구역에는 붙어 있는 {n}석이 없어 가장 좋은 좌석을 따로 골랐습니다.',

    // --- a11y: server error codes (the server's English `message` is never shown), HTTP fallbacks, field problems, skip link
    skip: '본문으로 건너뛰기', main_nav: '주요 메뉴', lang_switch: '언어 변경: English', home_title: '공연 둘러보기', error_title: '오류',
    err_generic: '요청을 처리하지 못했습니다. 잠시 후 다시 시도하세요.',
    err_status_400: '요청 내용이 올바르지 않습니다.', err_status_401: '로그인이 필요합니다.', err_status_403: '이 작업을 할 권한이 없습니다.',
    err_status_404: '찾을 수 없습니다.', err_status_409: '지금 상태에서는 할 수 없는 요청입니다. 새로고침 후 다시 시도하세요.', err_status_413: '파일이 너무 큽니다.',
    err_status_415: '지원하지 않는 형식입니다.', err_status_429: '요청이 너무 많습니다. 잠시 후 다시 시도하세요.', err_status_500: '서버에 문제가 생겼습니다. 잠시 후 다시 시도하세요.',
    err_status_502: '서버에 연결할 수 없습니다. 잠시 후 다시 시도하세요.', err_status_503: '서비스를 잠시 사용할 수 없습니다. 잠시 후 다시 시도하세요.', err_status_504: '서버 응답이 늦습니다. 잠시 후 다시 시도하세요.',
    err_validation_failed: '입력 내용을 확인하세요.', err_invalid_body: '요청 내용이 올바르지 않습니다.', err_invalid_json: '요청 내용이 올바르지 않습니다.',
    err_invalid_query: '검색 조건이 올바르지 않습니다.', err_invalid_id: '주소가 올바르지 않습니다.', err_invalid_event_id: '공연 주소가 올바르지 않습니다.', err_invalid_text: '저장할 수 없는 문자가 들어 있습니다.',
    err_invalid_multipart: '파일을 읽을 수 없습니다.', err_missing_image: '이미지 파일을 선택하세요.', err_payload_too_large: '파일이 너무 큽니다.', err_unsupported_media_type: '지원하지 않는 형식입니다.',
    err_rate_limited: '요청이 너무 많습니다. 잠시 후 다시 시도하세요.', err_route_not_found: '찾을 수 없는 주소입니다.', err_internal_error: '서버에 문제가 생겼습니다. 잠시 후 다시 시도하세요.',
    err_database_unavailable: '서비스를 잠시 사용할 수 없습니다. 잠시 후 다시 시도하세요.', err_redis_unavailable: '대기열 서비스를 잠시 사용할 수 없습니다. 잠시 후 다시 시도하세요.',
    err_unavailable: '서비스를 잠시 사용할 수 없습니다. 잠시 후 다시 시도하세요.', err_storage_unavailable: '이미지 저장소를 잠시 사용할 수 없습니다.',
    err_auth_unavailable: '로그인 상태를 지금 확인할 수 없습니다. 잠시 후 다시 시도하세요.', err_auth_busy: '가입 요청이 많습니다. 잠시 후 다시 시도하세요.',
    err_invalid_credentials: '이메일 또는 비밀번호가 올바르지 않습니다.', err_email_taken: '이 이메일로는 가입할 수 없습니다. 본인 계정이라면 로그인하세요.',
    err_account_not_found: '계정이 더 이상 없습니다.', err_missing_token: '로그인이 필요합니다.', err_invalid_token: '로그인이 만료되었습니다. 다시 로그인하세요.',
    err_token_expired: '로그인이 만료되었습니다. 다시 로그인하세요.', err_session_revoked: '로그인이 끝났습니다. 다시 로그인하세요.', err_missing_refresh_token: '로그인이 필요합니다.',
    err_invalid_refresh_token: '로그인이 만료되었습니다. 다시 로그인하세요.', err_refresh_token_reused: '보안을 위해 모든 로그인이 종료되었습니다. 다시 로그인하세요.',
    err_nothing_to_sign_out: '이미 로그아웃되었습니다.', err_no_session: '이 로그인은 종료할 수 없습니다.', err_cross_site_request: '다른 사이트에서 온 요청입니다. 이 사이트에서 다시 로그인하세요.',
    err_email_already_verified: '이미 확인된 이메일입니다.', err_email_not_verified: '먼저 이메일 주소를 확인하세요.', err_invalid_verification_token: '이 링크는 유효하지 않거나 만료되었거나 이미 사용되었습니다. 새 링크를 요청하세요.',
    err_admin_only: '관리자만 할 수 있습니다.', err_forbidden: '이 작업을 할 권한이 없습니다.',
    err_google_sign_in_disabled: '이 서버에서는 Google 로그인을 사용할 수 없습니다.', err_google_code_flow_disabled: '이 서버에서는 Google 로그인을 사용할 수 없습니다.',
    err_google_code_rejected: 'Google이 로그인을 받아들이지 않았습니다. 다시 시도하세요.', err_google_email_missing: 'Google이 이메일 주소를 알려 주지 않았습니다.',
    err_google_email_unverified: 'Google에서 확인되지 않은 이메일이라 로그인할 수 없습니다.', err_google_link_refused_admin: '관리자 계정은 비밀번호로 로그인하세요.',
    err_google_sign_in_refused: 'Google 로그인이 완료되지 않았습니다.', err_invalid_google_token: 'Google 로그인 정보가 올바르지 않습니다. 다시 시도하세요.',
    err_invalid_oauth_code: '로그인 정보가 없습니다. 다시 시작하세요.', err_invalid_oauth_state: '로그인이 만료되었거나 이미 사용되었습니다. 다시 시작하세요.', err_oauth_state_mismatch: '다른 브라우저에서 시작한 로그인입니다. 여기서 다시 시작하세요.',
    err_event_not_found: '공연을 찾을 수 없습니다.', err_event_cancelled: '취소된 공연입니다.', err_sale_not_open: '아직 예매가 시작되지 않았습니다.', err_sale_closed: '예매가 마감되었습니다.',
    err_too_many_events: '한 번에 너무 많은 공연을 요청했습니다.', err_not_admitted: '대기열에서 입장한 뒤에 이용할 수 있습니다. 대기열에 다시 참여하세요.',
    err_seat_unavailable: '선택한 좌석 중 이미 다른 분이 선점하거나 구매한 좌석이 있습니다. 다른 좌석을 선택하세요.', err_sold_out: '남은 티켓이 부족합니다.',
    err_ticket_limit_exceeded: '한 사람이 살 수 있는 티켓 수를 넘었습니다.', err_ticket_type_not_found: '티켓 종류를 찾을 수 없습니다.', err_amount_too_large: '예매 금액이 너무 큽니다.',
    err_try_again: '다시 시도하세요.', err_reservation_not_found: '예매를 찾을 수 없습니다.', err_reservation_cancelled: '취소된 예매입니다.',
    err_reservation_expired: '선점 시간이 만료되었습니다. 좌석을 다시 선택하세요.', err_reservation_not_cancellable: '이 예매는 취소할 수 없습니다.', err_reservation_not_payable: '이 예매는 결제할 수 없습니다.',
    err_reservation_not_pending: '결제 대기 중인 예매가 아닙니다.', err_invalid_transition: '지금 상태에서는 이 예매를 바꿀 수 없습니다.', err_refund_required: '결제된 예매는 환불로 취소합니다.',
    err_refund_window_closed: '환불 가능 기간이 지났습니다.', err_refund_refused: '환불할 수 없습니다.', err_refund_rejected: '결제사가 환불을 거절했습니다.', err_refund_pending: '선점 시간이 만료되어 전액 환불이 진행 중입니다.',
    err_not_refundable: '청구된 금액이 없어 환불할 것이 없습니다.', err_invalid_refund_amount: '환불 금액이 올바르지 않습니다.', err_not_your_reservation: '다른 분의 예매입니다.',
    err_payment_declined: '결제가 거절되었습니다. 청구된 금액은 없습니다.', err_payment_in_doubt: '결제 결과를 결제사에 확인하고 있습니다.', err_payment_in_progress: '결제를 처리하는 중입니다. 잠시 후 확인하세요.',
    err_payment_not_found: '결제를 찾을 수 없습니다.', err_payment_not_confirmable: '이 결제는 승인할 수 없습니다.', err_payment_key_mismatch: '다른 결제로 진행 중인 주문입니다.',
    err_payment_key_in_use: '다른 주문에 쓰인 결제입니다.', err_payment_state_changed: '결제 상태가 바뀌었습니다. 다시 시도하세요.', err_amount_mismatch: '결제 금액이 주문 금액과 다릅니다.',
    err_idempotency_key_reused: '같은 요청 키가 다른 요청에 쓰였습니다.', err_invalid_idempotency_key: '요청 키가 올바르지 않습니다.', err_invalid_payment_key: '결제 키가 올바르지 않습니다.',
    err_provider_unavailable: '결제사가 응답하지 않았습니다. 아직 승인된 것은 없으니 다시 시도하세요.', err_payment_unavailable: '지금은 환불할 수 없습니다. 다시 시도하세요.',
    err_ticket_service_unavailable: '결제는 승인되었고 티켓을 발급하는 중입니다. 잠시 후 내 예매를 확인하세요.', err_toss_not_configured: '이 서버는 토스페이먼츠를 사용하지 않습니다.', err_sandbox_only: '샌드박스 결제에서만 쓸 수 있습니다.',
    err_event_has_confirmed_reservations: '결제된 예매가 있는 공연입니다. 대신 공연을 취소(환불)하세요.', err_no_seat_layout: '먼저 좌석 배치를 지정하세요.',
    err_seats_exist: '좌석 배치를 바꾸려면 먼저 이 공연의 좌석을 지워야 합니다.', err_seats_in_use: '선점되었거나 판매된 좌석이 있습니다.', err_quantity_below_reserved: '이미 예매된 수보다 적게 줄일 수 없습니다.',
    err_image_not_found: '이미지를 찾을 수 없습니다.', err_news_not_found: '소식을 찾을 수 없습니다.', err_news_pinned: '공지로 고정된 소식은 관리자만 바꿀 수 있습니다.', err_not_news_author: '작성자나 관리자만 바꿀 수 있습니다.',
    err_access_code_required: '접근 코드가 필요합니다.', err_access_code_invalid: '접근 코드가 올바르지 않습니다.', err_access_code_used: '이미 사용된 접근 코드입니다.', err_pow_required: '잠시 후 다시 시도하세요.',
    err_webhook_duplicate: '이미 받은 알림입니다.', err_webhook_unverified: '확인할 수 없는 알림입니다.', err_internal_token_missing: '권한이 없습니다.', err_internal_token_invalid: '권한이 없습니다.',
    field_required: '필수 항목입니다.', field_invalid: '값이 올바르지 않습니다.', field_too_long: '{n}자 이하로 입력하세요.', field_too_short: '{n}자 이상 입력하세요.',
    field_length: '{a}~{b}자로 입력하세요.', field_between: '{a}~{b} 사이의 값을 입력하세요.', field_email: '올바른 이메일 주소를 입력하세요.', field_pw_common: '너무 흔한 비밀번호입니다. 다른 비밀번호를 고르세요.',
    field_phone: '전화번호는 숫자 {a}~{b}자리로 입력하세요.', field_after_start: '예매 시작보다 뒤여야 합니다.', field_before_event: '공연 일시보다 늦을 수 없습니다.', field_number: '숫자를 입력하세요.',
    field_twice: '같은 항목이 두 번 들어 있습니다.', field_at_most: '최대 {n}개까지 고를 수 있습니다.', field_at_least_one: '하나 이상 고르세요.', field_status: '상태는 이 양식에서 바꿀 수 없습니다.',
    field_email_taken: '이 이메일로는 가입할 수 없습니다.',
    field_id: '올바른 선택이 아닙니다.',
    // --- ga
    ga_title: '티켓 선택', ga_tickets: '티켓', ga_qty: '{name} 수량', ga_less: '{name} 한 장 빼기', ga_more: '{name} 한 장 더하기',
    ga_left: '남은 티켓 {n}장', ga_pick: '티켓 수량을 고르세요.', ga_total: '{n}장 · 합계 {p}', ga_buy: '선택한 티켓 예매하기',
    ga_limit: '이 공연은 한 사람당 최대 {n}장까지 예매할 수 있습니다.', ga_limit_held: '한 사람당 최대 {n}장: 이미 {held}장을 가지고 있어 {left}장 더 예매할 수 있습니다.',
    ga_limit_none: '이 공연에서 예매할 수 있는 최대 매수를 이미 가지고 있습니다.', ga_limit_reached: '한 사람당 최대 {n}장까지입니다.',
    ga_only_left: '{name} 티켓은 {n}장만 남아 있습니다.', ga_reduced: '{name} 티켓이 {n}장만 남아 선택을 줄였습니다.', ga_now_sold_out: '{name} 티켓이 매진되었습니다.',
    ga_to_queue: '대기실로 가기', ga_pending: '결제를 기다리는 예매가 있습니다 ({no}).',
    ga_err_sold_out: '남은 티켓이 부족합니다. 수량을 줄여 다시 시도하세요.', ga_err_sold_out_type: '{name} 티켓이 매진되었습니다.', ga_err_sold_out_left: '{name} 티켓은 {n}장만 남아 있습니다.',
    ga_err_ticket_limit_exceeded: '한 사람당 예매할 수 있는 매수를 넘었습니다.', ga_err_limit_details: '한 사람당 최대 {n}장이며 이미 {held}장을 가지고 있습니다.',
    ga_err_not_admitted: '입장 시간이 끝났거나 아직 입장하지 않았습니다. 대기실에서 다시 입장하세요.', ga_err_sale_not_open: '아직 예매가 시작되지 않았습니다.',
    ga_err_sale_closed: '예매가 마감되었습니다.', ga_err_event_cancelled: '취소된 공연입니다.', ga_err_event_not_found: '공연을 찾을 수 없습니다.',
    ga_err_ticket_type_not_found: '이 티켓 종류는 더 이상 판매하지 않습니다. 페이지를 새로고침하세요.', ga_err_validation_failed: '수량을 확인하세요.',
    ga_err_amount_too_large: '합계 금액이 너무 큽니다. 수량을 줄이세요.', ga_err_try_again: '잠시 후 다시 시도하세요.',
    ga_err_other: '티켓을 예매하지 못했습니다. 다시 시도하세요.',
    // --- console
    c_draft: '초안', c_draft_note: '초안입니다: 팬에게 보이지 않고 대기열·좌석 선점·예매가 모두 막혀 있습니다. 준비가 끝나면 공개하세요.',
    c_publish: '공개하기', c_confirm_publish: '이 공연을 공개할까요? 팬에게 보이고, 예매 기간이 되면 예매할 수 있습니다.', c_published_ok: '"{title}" 공연을 공개했습니다.',
    c_save_draft: '초안으로 저장', c_created_draft: '초안으로 저장했습니다. 공개하기 전까지 팬에게 보이지 않습니다.', c_fan_page: '팬 화면 보기', c_actions: '작업',
    c_layout_none: '없음 (자유석 · 티켓 종류로 판매)', c_layout_small_theater: '소극장', c_layout_large_theater: '대극장', c_layout_sports_stadium: '스타디움', c_seats_n: '{n}석',
    c_tt_hint: '좌석 배치가 없는 공연(자유석)은 아래 티켓 종류로 판매합니다.', c_tt_name: '티켓 이름', c_tt_price: '가격 (원)', c_tt_qty: '수량', c_tt_add: '티켓 종류 추가',
    c_tt_remove: '{n}번 티켓 종류 삭제', c_tt_left: '남은 수량 {n} / {total}',
    c_queue_on: '대기실 사용', c_queue_hint: '모든 공연은 기본으로 대기실을 씁니다 (동시 입장 {n}명).',
    c_keep: '돌아가기', c_clear_line: '대기열 비우기', c_confirm_clear: '대기 중이거나 입장한 팬 {n}명을 모두 내보냅니다. 되돌릴 수 없습니다. 계속할까요?',
    c_queue_off: '대기실 꺼짐', c_settings: '대기실 설정', c_threshold_hint: '동시에 좌석을 고르고 결제할 수 있는 팬의 수입니다.',
    c_per_second: '초당 입장 인원', c_per_second_hint: '비워 두면 빈 자리가 생기는 대로 입장합니다.', c_no_limit: '제한 없음',
    c_shop_limit: '쇼핑 시간 제한 (분)', c_shop_limit_hint: '입장한 팬이 예매를 마쳐야 하는 시간입니다.',
    c_idle_grace: '응답 없는 팬 유지 시간 (초)', c_idle_grace_hint: '창을 닫은 팬의 순서를 이 시간 동안 지켜 줍니다.',
    c_mode: '입장 방식', c_mode_fifo: '먼저 온 순서대로', c_mode_scheduled: '예매 시작 시각에 추첨', c_mode_hint: '추첨: 예매 시작 전에 온 팬의 순서를 시작 시각에 무작위로 정합니다.',
    c_change_in_event: '공연 정보에서 변경',
    c_est_empty: '기다리는 팬이 없습니다.', c_est_paused: '{n}명이 기다리고 있습니다. 입장이 멈춰 있어 줄이 줄지 않습니다.',
    c_est_measured: '{n}명 대기 중 · 최근 입장 속도로 {t} 뒤에 줄이 빕니다.', c_est_settings: '{n}명 대기 중 · 설정대로라면 {t} 뒤에 줄이 빕니다.', c_hours: '약 {n}시간',
    c_msg_title: '대기 중인 팬에게 알림', c_msg_label: '알림 내용 (최대 500자)', c_msg_send: '알림 보내기', c_msg_remove: '알림 지우기',
    c_msg_sent: '대기 중인 팬에게 알림을 보냈습니다.', c_msg_removed: '알림을 지웠습니다.', c_msg_now: '지금 표시 중: "{m}"', c_msg_none: '지금 표시 중인 알림이 없습니다.', c_chars_left: '{n}자 남음',
    c_search_label: '구매자 이름, 이메일 또는 예매번호', c_search_ph: '예: 김민지, minji@…, R2026…', c_found: '{n}건', c_no_matches: '해당하는 예매가 없습니다.',
    c_buyer: '구매자', c_event: '공연', c_order: '주문', c_phone: '전화번호', c_lines: '주문 내역', c_item: '항목', c_qty: '수량', c_unit_price: '단가', c_subtotal: '소계',
    c_hold_until: '결제 기한', c_confirmed_at: '확정 일시', c_cancelled_at: '취소 일시',
    c_mark_paid: '입금 확인 (예매 확정)', c_confirm_mark_paid: 'Tiketi 밖에서 결제를 받았나요? 예매를 확정합니다.', c_cancel_hold: '예매 취소', c_confirm_cancel_hold: '결제되지 않은 이 예매를 취소하고 좌석을 풀까요?',
    c_chart_missing: '차트 라이브러리를 불러오지 못했습니다.', c_no_data: '아직 데이터가 없습니다.', c_no_live_queue: '지금 운영 중인 대기열이 없습니다.',
    c_now: '지금', c_held_seats: '선점된 좌석', c_open_checkouts: '결제 대기 예매', c_active_buyers: '최근 5분 구매자', c_res_last_hour: '최근 1시간 예매', c_rev_last_hour: '최근 1시간 매출',
    c_revenue_period: '기간별 매출', c_period: '기간', c_period_daily: '일별', c_period_weekly: '주별', c_period_monthly: '월별',
    c_hourly: '시간대별 예매 (최근 7일)', c_new_users: '신규 회원', c_payments_by_method: '결제 수단별 금액',
    c_conversion: '전환 (최근 30일)', c_started: '시작된 예매', c_conversion_rate: '확정 비율',
    c_cancellations: '취소 (최근 30일)', c_refunded_amount: '환불 금액', c_hours_before_cancel: '취소까지 평균 시간(시간)',
    c_top_events: '매출 상위 공연', c_occupancy: '판매율', c_event_detail: '공연별 자세히', c_sold: '판매', c_section: '구역',
    c_seat_prefs: '구역별 판매', c_behavior: '구매자 행동 (최근 30일)', c_user_new: '첫 예매 회원', c_user_returning: '재구매 회원', c_user_loyal: '단골 회원', c_avg_minutes_to_pay: '결제까지 평균(분)',
    c_performance: '시스템 상태', c_db_size: '데이터베이스 크기', c_success_rate: '최근 1시간 확정 비율', c_payment_failures: '결제 실패율 (24시간)', c_avg_hold: '평균 선점 시간',
    c_err_unknown: '요청을 처리하지 못했습니다 (코드: {code}).', c_err_validation_failed: '표시된 항목을 확인하세요.', c_err_admin_only: '관리자만 할 수 있습니다.',
    c_err_event_not_found: '공연을 찾을 수 없습니다.', c_err_reservation_not_found: '예매를 찾을 수 없습니다.', c_err_ticket_type_not_found: '티켓 종류를 찾을 수 없습니다.',
    c_err_invalid_query: '검색어는 100자 이하로 입력하세요.', c_err_invalid_id: '잘못된 주소입니다.', c_err_event_has_reservations: '이미 예매가 있어 초안으로 되돌릴 수 없습니다. 공연을 취소하세요.',
    c_err_seats_exist: '좌석이 이미 만들어져 좌석 배치를 바꿀 수 없습니다.', c_err_quantity_below_reserved: '이미 예매된 수량보다 적게 줄일 수 없습니다.',
    c_err_redis_unavailable: '대기열 저장소에 연결할 수 없습니다. 잠시 후 다시 시도하세요.', c_err_database_unavailable: '데이터베이스에 연결할 수 없습니다. 잠시 후 다시 시도하세요.',
    c_err_invalid_transition: '이 예매 상태로는 바꿀 수 없습니다.', c_err_refund_required: '결제된 예매는 환불로만 취소할 수 있습니다.', c_err_reservation_expired: '선점 시간이 지나 확정할 수 없습니다.',
    c_err_missing_token: '로그인이 필요합니다.', c_err_invalid_token: '다시 로그인하세요.', c_err_token_expired: '로그인이 만료되었습니다. 다시 로그인하세요.',
    c_err_rate_limited: '요청이 너무 많습니다. 잠시 후 다시 시도하세요.', c_err_payload_too_large: '파일이 너무 큽니다.', c_err_unsupported_media_type: '지원하지 않는 파일 형식입니다.',
    c_err_missing_image: '이미지 파일을 고르세요.', c_err_storage_unavailable: '이미지 저장소에 연결할 수 없습니다.', c_err_internal_error: '서버 오류가 났습니다. 잠시 후 다시 시도하세요.',
    c_err_event_has_confirmed_reservations: '결제된 예매가 있어 삭제할 수 없습니다. 공연을 취소하세요.', c_err_invalid_json: '요청 형식이 잘못되었습니다.', c_err_invalid_body: '요청 형식이 잘못되었습니다.',
    c_f_required: '필수 항목입니다.', c_f_after_start: '예매 시작보다 뒤여야 합니다.', c_f_before_event: '공연 일시보다 늦을 수 없습니다.', c_f_too_long: '{n}자 이하로 입력하세요.',
    c_f_range: '{lo}에서 {hi} 사이로 입력하세요.', c_f_layout: '없는 좌석 배치입니다.', c_f_invalid: '값을 확인하세요.',

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
    sale_presale_title: '아직 예매 오픈 전입니다', sale_line_opens_at: '대기열 오픈: {at}', line_opens_in: '대기열 오픈까지 {t}', sale_not_in_line_yet: '아직 대기열에 들어가지 않았습니다', sale_upcoming_line_rule: '대기열이 열리면 이 페이지가 자동으로 줄을 섭니다. 입장은 예매 오픈 시각부터입니다. 이 창을 열어 두세요.', sale_upcoming_sale_rule: '예매가 열리면 이 페이지가 자동으로 입장을 요청합니다. 그 전에는 아무도 입장하지 않습니다. 이 창을 열어 두세요.',
    sale_presale_fifo: '오픈 시각이 되면 도착한 순서대로 입장합니다. 이 창을 열어 두세요.',
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
    ticket_types: 'Ticket types', ev_tickets: 'Tickets', c_poster_placeholder: 'https://… or /api/image/files/…', back: 'Back',
    waiting_room: 'Waiting room', position: 'Your place', ahead: '{n} ahead of you', queue_size: '{n} waiting', est_wait: 'Estimated wait: {t}', leave_queue: 'Leave the queue',
    admitted: "You're in! Taking you to the seats.", keep_open: 'Keep this page open. Refreshing keeps your place.', queue_paused: 'Admissions are paused for a moment.',
    connected: 'Live', connecting: 'Connecting…', disconnected: 'Disconnected · reconnecting', queue_cleared: 'The queue was cleared by an operator.',
    seat_select: 'Choose seats', selected: 'Selected', total: 'Total', hold: 'Hold these seats', max_seats: 'You can choose up to {n} seats.',
    available: 'Available', locked: 'Held', reserved: 'Sold', mine: 'Yours', seat_taken: 'Someone just took that seat.', seat_taken_here: 'Just taken', seat_taken_at: 'Someone just took seat {label}. Choose another seat.', pick_seat: 'Choose a seat.',
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
    // --- seatmap
    sm_stage: 'Stage', sm_overview: 'Sections', sm_section: 'Section {name}', sm_left: '{n} left', sm_seats: 'Seats',
    sm_seat: 'Section {section}, row {row}, seat {n}, {status}', sm_legend: 'Seat key',
    sm_keys: 'Arrow keys move between seats; Enter or Space picks one.', sm_choose_section: 'Choose a section above to see its seats.',
    sm_best_n: 'Seats', sm_best: 'Best available in {name}', sm_best_none: 'Only {n} seats are left in this section. Choose another section.',
    sm_best_ok: 'Picked the best {n} seats together.', sm_best_apart: 'No {n} seats together in this section: picked the best seats apart.',

    // --- a11y: server error codes (the server's English `message` is never shown), HTTP fallbacks, field problems, skip link
    skip: 'Skip to content', main_nav: 'Main', lang_switch: 'Change language: 한국어', home_title: 'Browse events', error_title: 'Error',
    err_generic: 'Something went wrong. Please try again in a moment.',
    err_status_400: 'The request was not valid.', err_status_401: 'Please sign in.', err_status_403: 'You are not allowed to do this.',
    err_status_404: 'Not found.', err_status_409: 'This cannot be done right now. Refresh and try again.', err_status_413: 'The file is too large.',
    err_status_415: 'This format is not supported.', err_status_429: 'Too many requests. Please wait a moment.', err_status_500: 'The server had a problem. Please try again in a moment.',
    err_status_502: 'Cannot reach the server. Please try again in a moment.', err_status_503: 'The service is briefly unavailable. Please try again in a moment.', err_status_504: 'The server is slow to answer. Please try again in a moment.',
    err_validation_failed: 'Please check what you entered.', err_invalid_body: 'The request was not valid.', err_invalid_json: 'The request was not valid.',
    err_invalid_query: 'The search was not valid.', err_invalid_id: 'This address is not valid.', err_invalid_event_id: 'This event address is not valid.', err_invalid_text: 'The text contains characters that cannot be saved.',
    err_invalid_multipart: 'The file could not be read.', err_missing_image: 'Choose an image file.', err_payload_too_large: 'The file is too large.', err_unsupported_media_type: 'This format is not supported.',
    err_rate_limited: 'Too many requests. Please wait a moment.', err_route_not_found: 'No such address.', err_internal_error: 'The server had a problem. Please try again in a moment.',
    err_database_unavailable: 'The service is briefly unavailable. Please try again in a moment.', err_redis_unavailable: 'The queue is briefly unavailable. Please try again in a moment.',
    err_unavailable: 'The service is briefly unavailable. Please try again in a moment.', err_storage_unavailable: 'The image store is briefly unavailable.',
    err_auth_unavailable: 'Your sign-in cannot be checked right now. Please try again in a moment.', err_auth_busy: 'Many registrations at once. Please try again in a moment.',
    err_invalid_credentials: 'The email or password is not right.', err_email_taken: 'This email cannot be registered. If it is yours, sign in instead.',
    err_account_not_found: 'This account no longer exists.', err_missing_token: 'Please sign in.', err_invalid_token: 'Your sign-in has expired. Please sign in again.',
    err_token_expired: 'Your sign-in has expired. Please sign in again.', err_session_revoked: 'Your sign-in has ended. Please sign in again.', err_missing_refresh_token: 'Please sign in.',
    err_invalid_refresh_token: 'Your sign-in has expired. Please sign in again.', err_refresh_token_reused: 'For your safety every sign-in was ended. Please sign in again.',
    err_nothing_to_sign_out: 'You are signed out already.', err_no_session: 'This sign-in cannot be ended.', err_cross_site_request: 'This request came from another site. Sign in on this site again.',
    err_email_already_verified: 'This email is confirmed already.', err_email_not_verified: 'Confirm your email address first.', err_invalid_verification_token: 'This link is invalid, expired or already used. Ask for a new one.',
    err_admin_only: 'Operators only.', err_forbidden: 'You are not allowed to do this.',
    err_google_sign_in_disabled: 'Google sign-in is not available here.', err_google_code_flow_disabled: 'Google sign-in is not available here.',
    err_google_code_rejected: 'Google did not accept the sign-in. Please try again.', err_google_email_missing: 'Google did not share an email address.',
    err_google_email_unverified: 'Google has not verified this email, so it cannot sign in here.', err_google_link_refused_admin: 'Operator accounts sign in with their password.',
    err_google_sign_in_refused: 'Google sign-in did not complete.', err_invalid_google_token: 'The Google sign-in was not valid. Please try again.',
    err_invalid_oauth_code: 'The sign-in is missing its code. Start again.', err_invalid_oauth_state: 'This sign-in expired or was already used. Start again.', err_oauth_state_mismatch: 'This sign-in was started in another browser. Start again here.',
    err_event_not_found: 'Event not found.', err_event_cancelled: 'This event was cancelled.', err_sale_not_open: 'The sale has not opened yet.', err_sale_closed: 'The sale has closed.',
    err_too_many_events: 'Too many events in one request.', err_not_admitted: 'You need to be admitted from the waiting room first. Join the queue again.',
    err_seat_unavailable: 'Someone else has just held or bought one of these seats. Please choose other seats.', err_sold_out: 'Not enough tickets left.',
    err_ticket_limit_exceeded: 'That is more tickets than one fan may buy.', err_ticket_type_not_found: 'Ticket type not found.', err_amount_too_large: 'The total is too large.',
    err_try_again: 'Please try again.', err_reservation_not_found: 'Reservation not found.', err_reservation_cancelled: 'This reservation was cancelled.',
    err_reservation_expired: 'Your hold has expired. Please choose seats again.', err_reservation_not_cancellable: 'This reservation cannot be cancelled.', err_reservation_not_payable: 'This reservation cannot be paid.',
    err_reservation_not_pending: 'This reservation is not awaiting payment.', err_invalid_transition: 'This reservation cannot change that way now.', err_refund_required: 'A paid reservation is cancelled by refunding it.',
    err_refund_window_closed: 'The refund period has ended.', err_refund_refused: 'This cannot be refunded.', err_refund_rejected: 'The payment provider refused the refund.', err_refund_pending: 'Your hold expired; a full refund is on its way.',
    err_not_refundable: 'Nothing was charged, so there is nothing to refund.', err_invalid_refund_amount: 'The refund amount is not valid.', err_not_your_reservation: 'This reservation belongs to someone else.',
    err_payment_declined: 'The payment was declined. Nothing was charged.', err_payment_in_doubt: 'We are checking the payment with the provider.', err_payment_in_progress: 'The payment is being processed. Check again shortly.',
    err_payment_not_found: 'Payment not found.', err_payment_not_confirmable: 'This payment cannot be confirmed.', err_payment_key_mismatch: 'This order is being paid another way.',
    err_payment_key_in_use: 'This payment belongs to another order.', err_payment_state_changed: 'The payment changed meanwhile. Please try again.', err_amount_mismatch: 'The amount differs from the order total.',
    err_idempotency_key_reused: 'This request key was used for a different request.', err_invalid_idempotency_key: 'The request key is not valid.', err_invalid_payment_key: 'The payment key is not valid.',
    err_provider_unavailable: 'The payment provider did not answer. Nothing is confirmed yet; please try again.', err_payment_unavailable: 'The refund cannot be made right now. Please try again.',
    err_ticket_service_unavailable: 'Your payment is approved and your tickets are being issued. Check your reservations shortly.', err_toss_not_configured: 'This server does not use TossPayments.', err_sandbox_only: 'This works only with sandbox payments.',
    err_event_has_confirmed_reservations: 'This event has paid reservations. Cancel the event (and refund them) instead.', err_no_seat_layout: 'Give the event a seat layout first.',
    err_seats_exist: "Delete the event's seats before changing its seat layout.", err_seats_in_use: 'Some seats are held or sold.', err_quantity_below_reserved: 'More tickets of this type are reserved than the new total.',
    err_image_not_found: 'Image not found.', err_news_not_found: 'News item not found.', err_news_pinned: 'Pinned news can only be changed by an operator.', err_not_news_author: 'Only the author or an operator may change this.',
    err_access_code_required: 'An access code is needed.', err_access_code_invalid: 'The access code is not valid.', err_access_code_used: 'This access code was used already.', err_pow_required: 'Please try again in a moment.',
    err_webhook_duplicate: 'This notification was received already.', err_webhook_unverified: 'This notification cannot be verified.', err_internal_token_missing: 'Not allowed.', err_internal_token_invalid: 'Not allowed.',
    field_required: 'This field is required.', field_invalid: 'This value is not valid.', field_too_long: 'Use at most {n} characters.', field_too_short: 'Use at least {n} characters.',
    field_length: 'Use {a} to {b} characters.', field_between: 'Enter a value from {a} to {b}.', field_email: 'Enter a valid email address.', field_pw_common: 'This password is too common; choose another.',
    field_phone: 'Enter {a} to {b} digits.', field_after_start: 'Must be after the sale start.', field_before_event: 'Must not be after the event date.', field_number: 'Enter a number.',
    field_twice: 'The same item is listed twice.', field_at_most: 'Choose at most {n}.', field_at_least_one: 'Choose at least one.', field_status: 'The status cannot be changed in this form.',
    field_email_taken: 'This email cannot be registered.',
    field_id: 'This is not a valid choice.',
    // --- ga
    ga_title: 'Choose tickets', ga_tickets: 'Tickets', ga_qty: 'Number of {name} tickets', ga_less: 'One {name} ticket fewer', ga_more: 'One {name} ticket more',
    ga_left: '{n} left', ga_pick: 'Choose how many tickets.', ga_total: '{n} tickets · total {p}', ga_buy: 'Reserve these tickets',
    ga_limit: 'Up to {n} tickets per fan for this event.', ga_limit_held: 'Up to {n} tickets per fan: you already hold {held}, so you can add {left}.',
    ga_limit_none: 'You already hold the most tickets one fan may have for this event.', ga_limit_reached: 'Up to {n} tickets per fan.',
    ga_only_left: 'Only {n} {name} tickets are left.', ga_reduced: 'Only {n} {name} tickets are left; your choice was reduced.', ga_now_sold_out: '{name} is now sold out.',
    ga_to_queue: 'Go to the waiting room', ga_pending: 'You have a reservation waiting for payment ({no}).',
    ga_err_sold_out: 'Not enough tickets left. Choose fewer and try again.', ga_err_sold_out_type: '{name} is sold out.', ga_err_sold_out_left: 'Only {n} {name} tickets are left.',
    ga_err_ticket_limit_exceeded: 'That is more tickets than one fan may have.', ga_err_limit_details: 'Up to {n} tickets per fan, and you already hold {held}.',
    ga_err_not_admitted: 'Your shopping time has ended or you have not been let in yet. Join the waiting room again.', ga_err_sale_not_open: 'The sale has not opened yet.',
    ga_err_sale_closed: 'The sale has closed.', ga_err_event_cancelled: 'This event is cancelled.', ga_err_event_not_found: 'This event was not found.',
    ga_err_ticket_type_not_found: 'This ticket type is no longer sold. Reload the page.', ga_err_validation_failed: 'Check the quantities.',
    ga_err_amount_too_large: 'The total is too large. Choose fewer tickets.', ga_err_try_again: 'Please try again in a moment.',
    ga_err_other: 'The tickets could not be reserved. Please try again.',
    // --- console
    c_draft: 'Draft', c_draft_note: 'This is a draft: fans do not see it, and queueing, holds and bookings are closed. Publish it when it is ready.',
    c_publish: 'Publish', c_confirm_publish: 'Publish this event? Fans will see it and can book within its sale window.', c_published_ok: '"{title}" is published.',
    c_save_draft: 'Save as draft', c_created_draft: 'Saved as a draft. Fans do not see it until you publish it.', c_fan_page: 'See the fan page', c_actions: 'Actions',
    c_layout_none: 'None (general admission, sold by ticket type)', c_layout_small_theater: 'Small theatre', c_layout_large_theater: 'Large theatre', c_layout_sports_stadium: 'Stadium', c_seats_n: '{n} seats',
    c_tt_hint: 'An event without a seat layout (general admission) sells the ticket types below.', c_tt_name: 'Ticket name', c_tt_price: 'Price (won)', c_tt_qty: 'Quantity', c_tt_add: 'Add a ticket type',
    c_tt_remove: 'Remove ticket type {n}', c_tt_left: '{n} of {total} left',
    c_queue_on: 'Waiting room on', c_queue_hint: 'Every event has a waiting room by default ({n} fans shopping at once).',
    c_keep: 'Go back', c_clear_line: 'Clear the line', c_confirm_clear: 'This removes all {n} fans waiting or shopping. It cannot be undone. Continue?',
    c_queue_off: 'Waiting room off', c_settings: 'Waiting room settings', c_threshold_hint: 'How many fans may choose seats and pay at the same time.',
    c_per_second: 'Fans let in per second', c_per_second_hint: 'Empty: fans are let in as soon as a place frees up.', c_no_limit: 'No limit',
    c_shop_limit: 'Shopping time limit (minutes)', c_shop_limit_hint: 'How long an admitted fan has to finish buying.',
    c_idle_grace: 'Idle grace (seconds)', c_idle_grace_hint: 'How long a fan who closed the page keeps their place.',
    c_mode: 'Admission order', c_mode_fifo: 'First come, first served', c_mode_scheduled: 'Scheduled draw at sale start', c_mode_hint: 'Draw: fans who arrive before the sale starts are put in a random order at the start.',
    c_change_in_event: 'Change it in the event',
    c_est_empty: 'Nobody is waiting.', c_est_paused: '{n} waiting. Admissions are paused, so the line does not move.',
    c_est_measured: '{n} waiting · at the last minute\'s pace the line is clear in {t}.', c_est_settings: '{n} waiting · at the set pace the line is clear in {t}.', c_hours: 'about {n} h',
    c_msg_title: 'Message to waiting fans', c_msg_label: 'Message (up to 500 characters)', c_msg_send: 'Send message', c_msg_remove: 'Remove message',
    c_msg_sent: 'The message is shown to the waiting fans.', c_msg_removed: 'The message was removed.', c_msg_now: 'Showing now: "{m}"', c_msg_none: 'No message is shown now.', c_chars_left: '{n} characters left',
    c_search_label: 'Buyer name, email or reservation number', c_search_ph: 'e.g. Kim, minji@…, R2026…', c_found: '{n} found', c_no_matches: 'No reservations match.',
    c_buyer: 'Buyer', c_event: 'Event', c_order: 'Order', c_phone: 'Phone', c_lines: 'Order lines', c_item: 'Item', c_qty: 'Qty', c_unit_price: 'Unit price', c_subtotal: 'Subtotal',
    c_hold_until: 'Pay by', c_confirmed_at: 'Confirmed at', c_cancelled_at: 'Cancelled at',
    c_mark_paid: 'Mark as paid (confirm)', c_confirm_mark_paid: 'Was this paid outside Tiketi? The reservation will be confirmed.', c_cancel_hold: 'Cancel reservation', c_confirm_cancel_hold: 'Cancel this unpaid reservation and release its tickets?',
    c_chart_missing: 'The chart library did not load.', c_no_data: 'No data yet.', c_no_live_queue: 'No waiting room is running now.',
    c_now: 'Right now', c_held_seats: 'Seats held', c_open_checkouts: 'Open checkouts', c_active_buyers: 'Buyers (last 5 min)', c_res_last_hour: 'Reservations (last hour)', c_rev_last_hour: 'Revenue (last hour)',
    c_revenue_period: 'Revenue by period', c_period: 'Period', c_period_daily: 'Daily', c_period_weekly: 'Weekly', c_period_monthly: 'Monthly',
    c_hourly: 'Reservations by hour (last 7 days)', c_new_users: 'New accounts', c_payments_by_method: 'Payments by method',
    c_conversion: 'Conversion (last 30 days)', c_started: 'Started', c_conversion_rate: 'Confirmed share',
    c_cancellations: 'Cancellations (last 30 days)', c_refunded_amount: 'Refunded', c_hours_before_cancel: 'Hours to cancel (avg.)',
    c_top_events: 'Top events by revenue', c_occupancy: 'Sold share', c_event_detail: 'One event in detail', c_sold: 'Sold', c_section: 'Section',
    c_seat_prefs: 'Sales by section', c_behavior: 'Buyers (last 30 days)', c_user_new: 'First-time buyers', c_user_returning: 'Returning buyers', c_user_loyal: 'Loyal buyers', c_avg_minutes_to_pay: 'Minutes to pay (avg.)',
    c_performance: 'System health', c_db_size: 'Database size', c_success_rate: 'Confirmed (last hour)', c_payment_failures: 'Payment failures (24 h)', c_avg_hold: 'Average hold',
    c_err_unknown: 'The request failed (code: {code}).', c_err_validation_failed: 'Check the marked fields.', c_err_admin_only: 'Only operators can do this.',
    c_err_event_not_found: 'Event not found.', c_err_reservation_not_found: 'Reservation not found.', c_err_ticket_type_not_found: 'Ticket type not found.',
    c_err_invalid_query: 'Search for at most 100 characters.', c_err_invalid_id: 'This address is not valid.', c_err_event_has_reservations: 'Fans have booked this event, so it cannot go back to draft. Cancel it instead.',
    c_err_seats_exist: 'Seats exist already, so the seat layout cannot change.', c_err_quantity_below_reserved: 'The quantity cannot go below what is already booked.',
    c_err_redis_unavailable: 'The queue store is unreachable. Try again in a moment.', c_err_database_unavailable: 'The database is unreachable. Try again in a moment.',
    c_err_invalid_transition: 'The reservation cannot change to that status.', c_err_refund_required: 'A paid reservation is cancelled by refunding it.', c_err_reservation_expired: 'The hold has lapsed; it cannot be confirmed.',
    c_err_missing_token: 'Please sign in.', c_err_invalid_token: 'Please sign in again.', c_err_token_expired: 'Your session ended. Please sign in again.',
    c_err_rate_limited: 'Too many requests. Try again in a moment.', c_err_payload_too_large: 'The file is too large.', c_err_unsupported_media_type: 'This file type is not supported.',
    c_err_missing_image: 'Choose an image file.', c_err_storage_unavailable: 'The image store is unreachable.', c_err_internal_error: 'Something went wrong on the server. Try again in a moment.',
    c_err_event_has_confirmed_reservations: 'Paid reservations exist, so the event cannot be deleted. Cancel it instead.', c_err_invalid_json: 'The request was malformed.', c_err_invalid_body: 'The request was malformed.',
    c_f_required: 'Required.', c_f_after_start: 'Must be after the sale start.', c_f_before_event: 'Must not be after the event date.', c_f_too_long: 'At most {n} characters.',
    c_f_range: 'Between {lo} and {hi}.', c_f_layout: 'No such seat layout.', c_f_invalid: 'Check this value.',

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
    sale_presale_title: 'The sale has not opened yet', sale_line_opens_at: 'Line opens {at}', line_opens_in: 'Line opens in {t}', sale_not_in_line_yet: 'You are not in line yet', sale_upcoming_line_rule: 'When the line opens, this page joins it for you. Fans are let in from the sale opening. Keep this page open.', sale_upcoming_sale_rule: 'When the sale opens, this page asks to let you in. Nobody is let in before then. Keep this page open.',
    sale_presale_fifo: 'At the opening, fans are let in in the order they arrived. Keep this page open.',
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

/**
 * Error text in the page's language. The server's `code` picks our sentence (`err_<code>`); an
 * unknown code falls back to a sentence for its HTTP status; the server's English `message` is
 * never shown. Validation errors list their fields (localised) unless `fields: false` (a form
 * that shows each problem next to its field).
 */
export function errText(e, { fields = true } = {}) {
  if (!e) return '';
  if (e.code === 'network') return t(e.message === 'offline' ? 'offline' : 'network');
  let text;
  if (e.code && dict.en[`err_${e.code}`]) text = t(`err_${e.code}`);
  else if (e.status) text = dict.en[`err_status_${e.status}`] ? t(`err_status_${e.status}`) : (e.status >= 500 ? t('err_status_500') : t('err_generic'));
  else text = t('err_generic');
  if (fields && e.fields && typeof e.fields === 'object') {
    const parts = Object.entries(e.fields).map(([k, v]) => `${fieldLabel(k)}: ${fieldText(v)}`);
    if (parts.length) text = `${text} ${parts.join(' ')}`;
  }
  return text;
}

// The request's field names and the labels the forms show for them.
const FIELD_LABELS = {
  email: 'email', password: 'password', name: 'name', phone: 'phone', title: 'title', venue: 'venue', address: 'address',
  description: 'description', artistName: 'artist', eventDate: 'event_date', saleStartDate: 'sale_start', saleEndDate: 'sale_end',
  posterImageUrl: 'poster_url', seatLayoutId: 'layout', seatIds: 'seats', items: 'ticket_types', threshold: 'threshold',
  admitPerTick: 'admit_per_tick', tickMs: 'tick_ms', status: 'status', amount: 'amount',
};
/** The visible label of a request field (`items[0].quantity` reads as its list's label). */
export function fieldLabel(name) {
  const key = FIELD_LABELS[name] || FIELD_LABELS[String(name).replace(/\[.*$/, '')];
  return key ? t(key) : name;
}

// The server's per-field reasons are English sentences from a small known set (the crates'
// validators): each is recognised by its shape and said again in the page's language.
const FIELD_REASONS = [
  [/too common/i, 'field_pw_common'],
  [/(\d+) to (\d+) digits/i, 'field_phone', (m) => ({ a: m[1], b: m[2] })],
  [/must be (\d+) to (\d+) characters/i, 'field_length', (m) => ({ a: m[1], b: m[2] })],
  [/at least (\d+) characters/i, 'field_too_short', (m) => ({ n: m[1] })],
  [/at most (\d+) characters/i, 'field_too_long', (m) => ({ n: m[1] })],
  [/too long/i, 'field_invalid'],
  [/is required|must not be empty|^required$/i, 'field_required'],
  [/@|not a valid address|not an email/i, 'field_email'],
  [/after saleStartDate/i, 'field_after_start'],
  [/not be after eventDate/i, 'field_before_event'],
  [/between (-?\d+) and (-?\d+)/i, 'field_between', (m) => ({ a: m[1], b: m[2] })],
  [/whole number|a number/i, 'field_number'],
  [/listed twice/i, 'field_twice'],
  [/at least one/i, 'field_at_least_one'],
  [/at most (\d+)/i, 'field_at_most', (m) => ({ n: m[1] })],
  [/UUID|an id/i, 'field_id'],
  [/status|sale window/i, 'field_status'],
];
/** A field's problem in the page's language (never the server's English). */
export function fieldText(reason) {
  const s = typeof reason === 'string' ? reason : '';
  for (const [re, key, vars] of FIELD_REASONS) {
    const m = s.match(re);
    if (m) return t(key, vars ? vars(m) : {});
  }
  return t('field_invalid');
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
