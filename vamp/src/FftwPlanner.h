// FFTW's planner is not thread-safe, and hosts may create plugins on several
// threads: hold this while making or destroying plans.
#pragma once

#include <mutex>

namespace audioscore {

class FftwPlanner {
public:
    FftwPlanner() : m_lock(mutex()) {}

private:
    static std::mutex &mutex() {
        static std::mutex instance;
        return instance;
    }
    std::lock_guard<std::mutex> m_lock;
};

}  // namespace audioscore
