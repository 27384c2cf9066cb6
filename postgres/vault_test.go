package postgres_test

import (
	"testing"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/storetest"
)

func TestVaultConformance(t *testing.T) {
	testURL(t)
	storetest.ExerciseVault(t, func(t *testing.T) botgate.Store { return open(t, freshSchema(t)) })
}

func TestVaultConformanceTwoStores(t *testing.T) {
	testURL(t)
	storetest.ExerciseVaultTwo(t, func(t *testing.T) (botgate.Store, botgate.Store) {
		u := freshSchema(t)
		return open(t, u), open(t, u)
	})
}
