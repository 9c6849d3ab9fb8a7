// GCC 13 emits calls to std::ios_base_library_init() (GLIBCXX_3.4.32) from every translation unit that includes
// <iostream>. Older libstdc++ (Debian 12: GLIBCXX_3.4.30) lacks it; constructing ios_base::Init does the same job.
#include <ios>

namespace std
{
    __attribute__((visibility("default"))) void ios_base_library_init()
    {
        static ios_base::Init init;
    }
}
