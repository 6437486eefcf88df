// OpenSSL's libcrypto (Debian libssl-dev), for SHA-256 of model files.
#include <openssl/evp.h>
