#include "sgdtune/train.hpp"

namespace sgdtune {
SGDTUNE_TRAIN_ALL(, float)
}
