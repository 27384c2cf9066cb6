module github.com/botgate/botgate

go 1.26.8
