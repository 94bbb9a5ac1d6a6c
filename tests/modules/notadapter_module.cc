// A shared object without the entry symbol, to prove the loader names what is missing.
extern "C" __attribute__((visibility("default"))) int something_else(void) { return 42; }
