/* TEST FIXTURE (mailprivacy.gdpr qmail scenario), not a real vpopmail install: the shape of
   the config.h that vpopmail 5.4's `make install` copies to ~vpopmail/include/vpopmail_config.h,
   as configured with --enable-logging=e --disable-clear-passwd --disable-auth-logging. */
/* config.h.  Generated from config.h.in by configure.  */
/* config.h.in.  Generated from configure.in by autoheader.  */

/* "" */
/* #undef CLEAR_PASS */

/* "" */
#define DOMAINS_DIR "domains"

/* "" */
/* #undef ENABLE_AUTH_LOGGING */

/* "" */
#define ENABLE_LOGGING 2

/* "" */
/* #undef SQWEBMAIL_PASS */

/* "" */
#define USE_CDB 1

/* Version number of package */
#define VERSION "5.4.33"

/* "" */
#define VPOPMAILDIR "/home/vpopmail"
