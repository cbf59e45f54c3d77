param location string
param bypass string = 'None'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-orders-secrets'
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    publicNetworkAccess: 'Disabled'
    networkAcls: {
      defaultAction: 'Deny'
      bypass: bypass
    }
  }
}
