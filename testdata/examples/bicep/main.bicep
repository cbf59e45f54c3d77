// Landing storage for the orders pipeline, one account per environment, and the vault
// its API Management gateway reads secrets from (deployed by a local module).
param location string = resourceGroup().location
param environments array = [
  'dev'
  'prod'
]

var lockedDown = {
  defaultAction: 'Deny'
  bypass: 'AzureServices'
}

resource landing 'Microsoft.Storage/storageAccounts@2023-05-01' = [for env in environments: {
  name: 'stlanding${env}'
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    networkAcls: lockedDown
  }
}]

module secrets 'modules/vault.bicep' = {
  name: 'secrets'
  params: {
    location: location
    bypass: 'AzureServices'
  }
}
