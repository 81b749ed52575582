module pollstorm/bench/go

go 1.19
