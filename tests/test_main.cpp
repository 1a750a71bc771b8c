// The test runner's main(). Catch2 v3 ships its own main in Catch2WithMain, v2 needs this define;
// we provide main ourselves in both cases so the same file works everywhere.
#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_session.hpp>
int main(int argc, char** argv) { return Catch::Session().run(argc, argv); }
#else
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#endif
