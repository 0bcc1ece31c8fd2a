/* TEST FIXTURE (mailprivacy.gdpr qmail scenario), not a real vpopmail install: the shape of
   the config.h that vpopmail 5.4's `make install` copies to ~vpopmail/include/vpopmail_config.h,
   as configured with --enable-logging=v --enable-clear-passwd --enable-auth-logging. */
/* config.h.  Generated from config.h.in by configure.  */
/* config.h.in.  Generated from configure.in by autoheader.  */

/* "" */
#define CLEAR_PASS 1

/* "" */
#define DOMAINS_DIR "domains"

/* "" */
#define ENABLE_AUTH_LOGGING 1

/* "" */
/* #undef ENABLE_LEARN_PASSWORDS */

/* "" */
#define ENABLE_LOGGING 4

/* "" */
/* #undef SQWEBMAIL_PASS */

/* "" */
#define LOG_NAME "vpopmail"

/* "" */
#define QMAILDIR "/var/qmail"

/* "" */
#define USE_CDB 1

/* Version number of package */
#define VERSION "5.4.33"

/* "" */
#define VPOPMAILDIR "/home/vpopmail"
