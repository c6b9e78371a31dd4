// placeholder
#include <bbs/bbs.hpp>
