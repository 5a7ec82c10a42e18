"""Every setting with its default. Override with create_app(overrides), the environment
variables of docs/api.md §5, or XIYUE_<KEY> for any key here."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# --- Flask and the database -------------------------------------------------------------
SECRET_KEY = None  # required when ENV_NAME is "production"; elsewhere made once in instance/
# XIYUE_ENV_NAME=production: secure cookies, and no start without SECRET_KEY, ID_ENCRYPTION_KEYS,
# ID_HASH_KEY and shared rate-limit storage (core.settings; docs/deploy.md §13)
ENV_NAME = "development"
SQLALCHEMY_DATABASE_URI = None  # from DATABASE_URL; default: sqlite under instance/
SQLALCHEMY_ENGINE_OPTIONS: dict = {}
SQLITE_BUSY_TIMEOUT_MS = 30000
# SQLite: writers of write_transaction() queue on an flock() of `<database>-writer.lock` and
# the next one is woken as the lock is let go, instead of polling in SQLite's busy handler;
# they wait at most SQLITE_BUSY_TIMEOUT_MS (then a 503). False: the busy handler alone.
SQLITE_WRITER_QUEUE = True
# SQLite: a WAL checkpoint after every this many commits of a process, run once the
# connection has let go of the write lock (core.database); 0: SQLite's auto-checkpoint,
# inside the commit that takes the WAL past 1,000 pages, while the lock is held.
SQLITE_CHECKPOINT_EVERY = 50
# PostgreSQL: a pooled connection is replaced after this many seconds (-1: never), before a
# server or firewall idle timeout can drop it; one dropped meanwhile is noticed at checkout.
DATABASE_POOL_RECYCLE_SECONDS = 1800
# On in the tests (tests/conftest.py, tests/support/live.py): a request that writes after
# reading in a deferred SQLite transaction fails loudly (core.database.DeferredWriteAfterRead)
# instead of rarely, as "database is locked".
SQLITE_CHECK_DEFERRED_WRITES = False
JSON_AS_ASCII = False
MAX_CONTENT_LENGTH = 2 * 1024 * 1024
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
PUBLIC_BASE_URL = "http://127.0.0.1:5000"
PROXY_FIX_HOPS = 0  # behind nginx: 1 (trust one proxy's X-Forwarded-For/-Proto/-Host)

# --- Language ---------------------------------------------------------------------------
BABEL_DEFAULT_LOCALE = "zh_CN"
BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
LANGUAGES = {"zh_CN": "中文", "en": "English"}

# --- Staff -------------------------------------------------------------------------------
API_TOKEN_HOURS = 12
# Failed logins make the failing client wait; they never lock the account (an admin does).
LOGIN_THROTTLE_FAILURES = 3  # failures for one user name from one address before each further one makes the next try wait
LOGIN_THROTTLE_ADDRESS_FAILURES = 20  # the same for one address, whatever the names
LOGIN_THROTTLE_FIRST_SECONDS = 5  # the first wait; it doubles with each further failure
LOGIN_THROTTLE_MAX_SECONDS = 900  # the longest wait
LOGIN_THROTTLE_FORGET_MINUTES = 60  # a count starts again this long after its last failure

# --- Rate limits (Flask-Limiter) -----------------------------------------------------------
RATELIMIT_ENABLED = True
RATELIMIT_STORAGE_URI = "memory://"  # per worker process; REDIS_URL replaces it (shared)
RATELIMIT_HEADERS_ENABLED = True
RATELIMIT_BOOKING = "20 per minute;200 per hour"
RATELIMIT_LOOKUP = "120 per minute"
RATELIMIT_LOGIN = "10 per minute"

# --- Personal data ----------------------------------------------------------------------
# Fernet keys, newest first; empty (outside production only): derived from SECRET_KEY
ID_ENCRYPTION_KEYS: list[str] = []
ID_HASH_KEY = None  # HMAC key for ID look-ups; empty (outside production only): from SECRET_KEY
RETENTION_DAYS = 365 * 3  # personal data of finished appointments kept this long

# --- Services and eligibility (docs/domain.md) -------------------------------------------------
SERVICES = [
    {"code": "marriage", "name": "结婚登记", "name_en": "Marriage registration",
     "applicants": 2, "ticket_prefix": "J"},
    {"code": "divorce", "name": "离婚登记申请", "name_en": "Divorce application (step 1)",
     "applicants": 2, "ticket_prefix": "L"},
    {"code": "divorce-certificate", "name": "离婚登记发证",
     "name_en": "Divorce certificate (step 2)", "applicants": 2, "ticket_prefix": "F"},
    {"code": "reissue", "name": "补领婚姻登记证", "name_en": "Certificate reissue",
     "applicants": 1, "ticket_prefix": "B"},
    # Optional services (docs/domain.md §2): an office offers them by listing them in its
    # `services` and `capacity`. Counselling takes one person or a couple (min_applicants).
    {"code": "counseling", "name": "婚姻家庭辅导", "name_en": "Marriage and family counselling",
     "applicants": 2, "min_applicants": 1, "ticket_prefix": "D"},
    {"code": "ceremony", "name": "颁证仪式", "name_en": "Certificate ceremony",
     "applicants": 2, "ticket_prefix": "Y"},
]
MARRIAGE_MIN_AGE = {"M": 22, "F": 20}  # Civil Code art. 1047
MARRIAGE_REQUIRES_OPPOSITE_SEX = True  # Civil Code art. 1046-1049
COOLING_OFF_DAYS = 30  # Civil Code art. 1077
STEP2_WINDOW_DAYS = 30
DEFAULT_PHONE_REGION = "+86"

# --- Booking ----------------------------------------------------------------------------
BOOKING_CLOSES_AT = "15:00"  # a day's bookings close at this time the day before
BOOKING_RELEASE_AT = "00:00"  # the newest day's seats are released at this time
BOOKING_CACHE_SECONDS = 5  # offices, services and day plans cached per process this long
BOOKING_MIN_NOTICE_DAYS = 1  # a day's bookings close BOOKING_CLOSES_AT this many days before
NO_SHOW_GRACE_MINUTES = 30
NO_SHOW_LIMIT = 2
NO_SHOW_WINDOW_DAYS = 90
NO_SHOW_BLOCK_DAYS = 30

# --- Hall -------------------------------------------------------------------------------
TICKET_LEAD_MINUTES = 30
NEAR_TURN_AHEAD = 3
EXTENSION_STEP_MINUTES = 30
REDIS_URL = None  # when set, rate limits are counted in Redis (shared by workers and hosts)

# --- SMS (docs/sms.md) ------------------------------------------------------------------
SMS_BACKEND = "console"  # console | twilio | aliyun | tencent
TWILIO_ACCOUNT_SID = None
TWILIO_AUTH_TOKEN = None
TWILIO_FROM = None
TWILIO_API_BASE_URL = "https://api.twilio.com"
# Alibaba Cloud SMS (SMS_BACKEND=aliyun): the AccessKey and the registered signature (签名)
ALIYUN_ACCESS_KEY_ID = None
ALIYUN_ACCESS_KEY_SECRET = None
ALIYUN_SMS_SIGN_NAME = None
ALIYUN_SMS_ENDPOINT = "https://dysmsapi.aliyuncs.com"  # http://HOST:PORT: a gateway or double
# Tencent Cloud SMS (SMS_BACKEND=tencent): the API key, the SMS application and the signature
TENCENTCLOUD_SECRET_ID = None
TENCENTCLOUD_SECRET_KEY = None
TENCENT_SMS_SDK_APP_ID = None
TENCENT_SMS_SIGN_NAME = None
TENCENT_SMS_ENDPOINT = "https://sms.tencentcloudapi.com"
TENCENT_SMS_REGION = "ap-guangzhou"
# Before sending again after an unclear outcome: a message missing from Tencent Cloud's
# status query counts as not sent only once its receipt would have come (seconds)
TENCENT_SMS_RECEIPT_WAIT_SECONDS = 300
# message kind -> the provider's template id, or {"zh_CN": id, "en": id} (aliyun, tencent);
# `flask sms templates` prints the texts to register. A kind without one is not sent.
SMS_TEMPLATES: dict = {}
# the secret path segment of the receipt webhooks /sms/receipts/<provider>/<token>
SMS_RECEIPT_TOKEN = None
SMS_RECEIPT_ALLOWED_IPS: list = []  # when set, receipts only from these addresses / networks
SMS_REMINDER_AT = "18:00"  # office local time, the day before
SMS_RATE_PER_SECOND = 10  # per sender number; 0 = unlimited
SMS_MAX_ATTEMPTS = 8  # tries for retryable errors before a message is failed
SMS_RETRY_BASE_SECONDS = 30  # first retry delay; doubles each time
SMS_RETRY_MAX_SECONDS = 900  # no retry waits longer than this (well within the hour)
SMS_CLAIM_LEASE_SECONDS = 60  # a claimed message returns to the pool after this
SMS_HTTP_TIMEOUT_SECONDS = 15  # per Twilio request; must stay below the lease
SMS_DISPATCH_THREADS = 4  # parallel sends in one dispatcher run
SMS_DISPATCH_MAX_MESSAGES = 500  # per run
SMS_DISPATCH_MAX_SECONDS = 50  # per run: the next run picks up the rest
SMS_STATUS_CALLBACK = True  # ask Twilio to report delivery to /sms/status
SMS_DIVORCE_CLOSING_DAYS = 5  # the step-2 "closing soon" notice, days before the end

# --- Scheduler --------------------------------------------------------------------------
SCHEDULER_LEASE_SECONDS = 30
SCHEDULER_TRIGGERS: dict = {}  # per-job schedule overrides: {"daily-reset": {"every": 2}}
SCHEDULER_JOBS = None  # ids to schedule; None: all
HOLIDAY_CHECK_FROM_MONTH = 11

# --- Feedback ---------------------------------------------------------------------------
FOLLOW_UP_WORKING_DAYS = 15  # a bad rating's case is due this many working days later
RATING_TABLET_MINUTES = 30  # the window tablet offers a ticket this long after completion
RATING_LINK_DAYS = 7  # an SMS rating link works this many days
RATELIMIT_SUGGESTION = "5 per 10 minutes;30 per day"  # per client address
REGISTRAR_PHOTO_MAX_BYTES = 1024 * 1024
UPLOAD_FOLDER = None  # default: <instance>/uploads
STATS_MAX_DAYS = 366  # the longest period one statistics page covers

# --- Testing and demonstration --------------------------------------------------------------
FROZEN_NOW = None  # an ISO timestamp that pins the office clock
